//! The columns of each sheet: Chinese header, English name, whether the value is required, how
//! private it is, and the help text shown in the template.
//!
//! This table is the single description of the file format: the reader, the writers and the
//! template's 说明 sheet are all driven by it.

use liaison_core::dataset::SheetKind;
use liaison_core::org::{RegionLevel, StationRole, StationTier, UnitKind};
use liaison_core::role::Role;

/// How a column's value is treated in an export without personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Privacy {
    /// Written as it is.
    Public,
    /// A private mobile number, masked as `138****5678`.
    Phone,
    /// A private e-mail address, masked as `z***@example.com`.
    Email,
    /// Never written, not even with personal data (initial passwords).
    Secret,
}

/// A fixed list of values a column accepts; the template offers it as a drop-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choices {
    RegionLevel,
    StationTier,
    StationRole,
    UnitKind,
    Role,
    Gender,
}

impl Choices {
    /// The Chinese labels, in display order.
    pub(crate) fn labels(self) -> Vec<&'static str> {
        match self {
            Choices::RegionLevel => RegionLevel::ALL.iter().map(|v| v.label()).collect(),
            Choices::StationTier => StationTier::ALL.iter().map(|v| v.label()).collect(),
            Choices::StationRole => StationRole::ALL.iter().map(|v| v.label()).collect(),
            Choices::UnitKind => UnitKind::ALL.iter().map(|v| v.label()).collect(),
            Choices::Role => Role::ALL.iter().map(|v| v.label()).collect(),
            Choices::Gender => vec!["男", "女"],
        }
    }
}

/// One column of a sheet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    /// English name, accepted as a header instead of the Chinese one.
    pub key: &'static str,
    /// Chinese header, written by the exports and the template.
    pub header: &'static str,
    /// The value must be filled in, so the column must be present.
    pub required: bool,
    pub privacy: Privacy,
    pub choices: Option<Choices>,
    /// Column width in Excel character units.
    pub width: f64,
    /// How to fill it in, for the template's 说明 sheet and the header note.
    pub help: &'static str,
    /// An example value.
    pub example: &'static str,
}

const fn col(key: &'static str, header: &'static str, required: bool, width: f64) -> Column {
    Column {
        key,
        header,
        required,
        privacy: Privacy::Public,
        choices: None,
        width,
        help: "",
        example: "",
    }
}

impl Column {
    const fn private(mut self, privacy: Privacy) -> Self {
        self.privacy = privacy;
        self
    }

    const fn choices(mut self, choices: Choices) -> Self {
        self.choices = Some(choices);
        self
    }

    const fn help(mut self, help: &'static str, example: &'static str) -> Self {
        self.help = help;
        self.example = example;
        self
    }
}

const CODE_HELP: &str = "2至32位字母、数字、“-”或“_”，用于二维码链接，确定后不要再改";
const MOBILE_HELP: &str = "11位手机号码";

const REGIONS: &[Column] = &[
    col("code", "区划代码", true, 16.0).help(
        "6至12位数字的统计用区划代码：县级6位，乡镇（街道）9位，村（社区）12位",
        "331002",
    ),
    col("name", "名称", true, 20.0).help("区划名称", "椒江区"),
    col("level", "层级", true, 16.0)
        .choices(Choices::RegionLevel)
        .help(
            "省、市、县（市、区）、乡镇（街道）、村（社区）",
            "县（市、区）",
        ),
    col("parent_code", "上级区划代码", false, 16.0)
        .help("上一级区划的代码；最上一级留空", "331000"),
];

const STATIONS: &[Column] = &[
    col("code", "站点编码", true, 14.0).help(CODE_HELP, "JJ-HM01"),
    col("name", "名称", true, 36.0).help("站点全称", "椒江区海门街道人大代表联络站"),
    col("tier", "层级", true, 20.0)
        .choices(Choices::StationTier)
        .help(
            "市联络中心、县联络总站、乡镇（街道）联络站、片区联络室（点）",
            "乡镇（街道）联络站",
        ),
    col("region_code", "所属区划代码", true, 16.0).help("站点服务的区划的代码", "331002001"),
    col("parent_code", "上级站点编码", false, 14.0)
        .help("上一级站点的编码；市联络中心留空", "JJ-ZZ"),
    col("address", "地址", false, 36.0).help("详细地址", "椒江区海门街道东山路1号"),
    col("opening_hours", "开放时间", false, 24.0).help("自由填写", "周一至周五 8:30-17:00"),
    col("reception_schedule", "接待安排", false, 24.0).help("自由填写", "每月15日为代表集中接待日"),
    col("phone", "联系电话", false, 16.0).help("公开的联系电话，座机或手机", "0576-88123456"),
    col("intro", "简介", false, 40.0).help("在公开页面显示的简介", "本站设在海门街道……"),
];

const STATION_MEMBERS: &[Column] = &[
    col("station_code", "站点编码", true, 14.0).help("所在站点的编码", "JJ-HM01"),
    col("role", "职务", true, 12.0)
        .choices(Choices::StationRole)
        .help("站长、副站长、联络员、网格员", "联络员"),
    col("name", "姓名", true, 12.0).help("姓名", "王小红"),
    col("phone", "手机号", true, 16.0)
        .private(Privacy::Phone)
        .help(MOBILE_HELP, "13812345678"),
    col("deputy_code", "代表编码", false, 14.0).help("本人是人大代表时填写其代表编码", "D0001"),
];

const DEPUTIES: &[Column] = &[
    col("code", "代表编码", true, 14.0).help(CODE_HELP, "D0001"),
    col("name", "姓名", true, 12.0).help("姓名", "张三"),
    col("gender", "性别", false, 8.0)
        .choices(Choices::Gender)
        .help("男或女", "男"),
    col("birth_year", "出生年份", false, 10.0).help("四位年份", "1975"),
    col("party", "政治面貌", false, 12.0).help("例如中共党员、民盟盟员、群众", "中共党员"),
    col("occupation", "职业职务", false, 30.0).help("工作单位及职务", "台州市某某有限公司总经理"),
    col("seats", "代表层级", true, 48.0).help(
        "每个任职写成“层级|届次|代表团|选区”，层级为全国、省、市、县（市、区）、乡镇，\
         代表团和选区可留空；多个任职之间用分号“；”或“;”分隔",
        "市|第六届|椒江代表团|海门街道第3选区；县（市、区）|第十八届||海门街道第3选区",
    ),
    col("region_code", "所属区划代码", true, 16.0).help(
        "代表所属区划的代码，决定哪些工作人员可以管理该代表",
        "331002",
    ),
    col("station_code", "驻站编码", false, 14.0).help("代表进驻的站点编码", "JJ-HM01"),
    col("public_profile", "公开简介", false, 40.0).help(
        "亮身份内容：履职承诺、接待时间等，会公开显示",
        "每月15日在海门街道联络站接待群众",
    ),
    col("phone", "手机号", false, 16.0)
        .private(Privacy::Phone)
        .help("11位手机号码，不公开", "13912345678"),
    col("email", "电子邮箱", false, 24.0)
        .private(Privacy::Email)
        .help("不公开", "zhangsan@example.com"),
];

const UNITS: &[Column] = &[
    col("code", "单位编码", true, 14.0).help(CODE_HELP, "TZ-ZJJ"),
    col("name", "名称", true, 30.0).help("单位全称", "台州市住房和城乡建设局"),
    col("kind", "类别", true, 16.0)
        .choices(Choices::UnitKind)
        .help(
            "政府部门、乡镇（街道）、法院、检察院、监察委员会、公共服务单位",
            "政府部门",
        ),
    col("region_code", "所属区划代码", true, 16.0).help("单位所属政府的区划代码", "331000"),
    col("phone", "联系电话", false, 16.0).help("公开的联系电话，座机或手机", "0576-88223344"),
];

const GRIDS: &[Column] = &[
    col("code", "网格编码", true, 16.0).help(CODE_HELP, "JJ-HM-DS01"),
    col("name", "名称", true, 30.0).help("网格名称", "海门街道东山社区第1网格"),
    col("region_code", "所属区划代码", true, 16.0)
        .help("网格所在村（社区）的区划代码", "331002001001"),
    col("station_code", "所属站点编码", true, 14.0).help("网格对应的站点编码", "JJ-HM01"),
    col("worker_name", "网格员", true, 12.0).help("网格员姓名", "李四"),
    col("worker_phone", "网格员手机号", true, 16.0)
        .private(Privacy::Phone)
        .help(MOBILE_HELP, "13712345678"),
    col("deputy_codes", "联系代表编码", false, 24.0).help(
        "联系该网格的代表编码，多个用“；”“;”或“、”分隔",
        "D0001；D0002",
    ),
];

const ACCOUNTS: &[Column] = &[
    col("username", "用户名", true, 16.0).help("3至32位小写字母、数字或“.”“-”“_”", "hm.wangxh"),
    col("display_name", "姓名", true, 12.0).help("登录后显示的姓名", "王小红"),
    col("role", "角色", true, 22.0).choices(Choices::Role).help(
        "系统管理员、市级工作人员、联络站工作人员、人大代表等",
        "联络站工作人员",
    ),
    col("scope", "绑定范围编码", false, 16.0).help(
        "按角色填写：市、县、乡镇工作人员填区划代码，联络站工作人员填站点编码，\
         代表填代表编码，承办单位人员填单位编码，管理员和群众留空",
        "JJ-HM01",
    ),
    col("phone", "手机号", false, 16.0)
        .private(Privacy::Phone)
        .help(MOBILE_HELP, "13812345678"),
    col("password", "初始密码", false, 16.0)
        .private(Privacy::Secret)
        .help(
            "留空由系统生成；填写时至少10位，含大写字母、小写字母、数字、符号中的至少三种。\
         首次登录须修改。导出时不会导出密码",
            "",
        ),
];

/// The columns of a sheet, in the order the exports write them.
pub(crate) fn columns(kind: SheetKind) -> &'static [Column] {
    match kind {
        SheetKind::Regions => REGIONS,
        SheetKind::Stations => STATIONS,
        SheetKind::StationMembers => STATION_MEMBERS,
        SheetKind::Deputies => DEPUTIES,
        SheetKind::Units => UNITS,
        SheetKind::Grids => GRIDS,
        SheetKind::Accounts => ACCOUNTS,
    }
}

/// The Chinese headers of a sheet; kept as separate constants because callers want
/// `&'static [&'static str]`, and checked against [`columns`] by a test.
pub(crate) fn header_labels(kind: SheetKind) -> &'static [&'static str] {
    match kind {
        SheetKind::Regions => &["区划代码", "名称", "层级", "上级区划代码"],
        SheetKind::Stations => &[
            "站点编码",
            "名称",
            "层级",
            "所属区划代码",
            "上级站点编码",
            "地址",
            "开放时间",
            "接待安排",
            "联系电话",
            "简介",
        ],
        SheetKind::StationMembers => &["站点编码", "职务", "姓名", "手机号", "代表编码"],
        SheetKind::Deputies => &[
            "代表编码",
            "姓名",
            "性别",
            "出生年份",
            "政治面貌",
            "职业职务",
            "代表层级",
            "所属区划代码",
            "驻站编码",
            "公开简介",
            "手机号",
            "电子邮箱",
        ],
        SheetKind::Units => &["单位编码", "名称", "类别", "所属区划代码", "联系电话"],
        SheetKind::Grids => &[
            "网格编码",
            "名称",
            "所属区划代码",
            "所属站点编码",
            "网格员",
            "网格员手机号",
            "联系代表编码",
        ],
        SheetKind::Accounts => &[
            "用户名",
            "姓名",
            "角色",
            "绑定范围编码",
            "手机号",
            "初始密码",
        ],
    }
}

/// The general rules shown at the top of the template's 说明 sheet.
pub(crate) const TEMPLATE_RULES: &[&str] = &[
    "1. 每张工作表对应一类数据，工作表名称不要修改（也可使用英文名：regions、stations、\
     station_members、deputies、handling_units、grids、accounts）。不需要导入的工作表可以删除或留空。",
    "2. 第1行是列名；从第2行开始每行填写一条记录。列的顺序可以调整，也可以使用下表中的英文列名。",
    "3. 模板已把单元格设为文本格式，编码、手机号请按文本填写，否则 Excel 可能把 13812345678 \
     显示成 1.38E+10 而丢失数字。",
    "4. 有下拉选项的列可直接选择，也可填写对应的英文代码。",
    "5. “代表层级”一格可填写多个任职，每个任职写成“层级|届次|代表团|选区”，多个任职之间用“；”分隔。",
    "6. 导入时会检查全部行，发现问题会列出工作表、行号、列名和修改方法；全部无误后才会一次性导入，\
     不会只导入一部分。",
    "7. 区划、站点、代表等编码可以引用系统中已有的记录，也可以引用本文件中的记录；\
     同一工作表内编码不能重复。",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_constants_match_the_column_table() {
        for kind in SheetKind::ALL {
            let from_table: Vec<&str> = columns(*kind).iter().map(|c| c.header).collect();
            assert_eq!(from_table, header_labels(*kind), "{kind:?}");
        }
    }

    #[test]
    fn headers_and_keys_are_unique_within_a_sheet() {
        for kind in SheetKind::ALL {
            let cols = columns(*kind);
            for (i, a) in cols.iter().enumerate() {
                for b in &cols[i + 1..] {
                    assert_ne!(a.header, b.header, "{kind:?}");
                    assert_ne!(a.key, b.key, "{kind:?}");
                }
            }
        }
    }

    #[test]
    fn every_column_is_explained_for_the_template() {
        for kind in SheetKind::ALL {
            for c in columns(*kind) {
                assert!(!c.help.is_empty(), "{kind:?} {}", c.key);
            }
        }
    }
}
