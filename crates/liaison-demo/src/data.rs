//! Fixed tables the demo organisation is built from.
//!
//! The counties and their townships are real; everything about people, addresses and phone
//! numbers is made up from the word lists below, so no real person is named.
//!
//! Source of the county-level divisions, their codes and the townships under them:
//! 民政部行政区划 / 各区县政府网站公开信息（据记忆整理，可能有出入）. Township order follows the
//! official lists: streets (街道) first, then towns (镇), then townships (乡). The romanisation
//! next to each township is the pinyin of its proper name, written here once so that codes never
//! depend on a pinyin library at run time.

use liaison_core::org::UnitKind;

/// A county-level division of Taizhou with its townships.
pub(crate) struct County {
    /// Administrative-division code.
    pub code: &'static str,
    /// Full name, e.g. 椒江区.
    pub name: &'static str,
    /// Name without the suffix, e.g. 椒江; used for delegations (椒江代表团).
    pub short: &'static str,
    /// Upper-case pinyin initials, the prefix of every code in the county.
    pub abbr: &'static str,
    /// Townships in official order: (name, pinyin of the proper name, syllables space-separated).
    pub townships: &'static [(&'static str, &'static str)],
}

/// Taizhou's nine county-level divisions.
pub(crate) const COUNTIES: &[County] = &[
    County {
        code: "331002",
        name: "椒江区",
        short: "椒江",
        abbr: "JJ",
        townships: &[
            ("海门街道", "hai men"),
            ("白云街道", "bai yun"),
            ("葭沚街道", "jia zhi"),
            ("洪家街道", "hong jia"),
            ("三甲街道", "san jia"),
            ("下陈街道", "xia chen"),
            ("前所街道", "qian suo"),
            ("章安街道", "zhang an"),
            ("海城街道", "hai cheng"),
            ("大陈镇", "da chen"),
        ],
    },
    County {
        code: "331003",
        name: "黄岩区",
        short: "黄岩",
        abbr: "HY",
        townships: &[
            ("东城街道", "dong cheng"),
            ("西城街道", "xi cheng"),
            ("南城街道", "nan cheng"),
            ("北城街道", "bei cheng"),
            ("新前街道", "xin qian"),
            ("江口街道", "jiang kou"),
            ("高桥街道", "gao qiao"),
            ("澄江街道", "cheng jiang"),
            ("院桥镇", "yuan qiao"),
            ("沙埠镇", "sha bu"),
            ("头陀镇", "tou tuo"),
            ("宁溪镇", "ning xi"),
            ("北洋镇", "bei yang"),
            ("上垟乡", "shang yang"),
            ("平田乡", "ping tian"),
            ("茅畲乡", "mao she"),
            ("上郑乡", "shang zheng"),
            ("富山乡", "fu shan"),
            ("屿头乡", "yu tou"),
        ],
    },
    County {
        code: "331004",
        name: "路桥区",
        short: "路桥",
        abbr: "LQ",
        townships: &[
            ("路桥街道", "lu qiao"),
            ("路南街道", "lu nan"),
            ("路北街道", "lu bei"),
            ("螺洋街道", "luo yang"),
            ("桐屿街道", "tong yu"),
            ("峰江街道", "feng jiang"),
            ("新桥镇", "xin qiao"),
            ("横街镇", "heng jie"),
            ("金清镇", "jin qing"),
            ("蓬街镇", "peng jie"),
        ],
    },
    County {
        code: "331022",
        name: "三门县",
        short: "三门",
        abbr: "SM",
        townships: &[
            ("海游街道", "hai you"),
            ("海润街道", "hai run"),
            ("沙柳街道", "sha liu"),
            ("珠岙镇", "zhu ao"),
            ("亭旁镇", "ting pang"),
            ("健跳镇", "jian tiao"),
            ("横渡镇", "heng du"),
            ("浦坝港镇", "pu ba gang"),
            ("花桥镇", "hua qiao"),
            ("小雄镇", "xiao xiong"),
            ("高枧乡", "gao jian"),
            ("蛇蟠乡", "she pan"),
            ("泗淋乡", "si lin"),
        ],
    },
    County {
        code: "331023",
        name: "天台县",
        short: "天台",
        abbr: "TT",
        townships: &[
            ("赤城街道", "chi cheng"),
            ("始丰街道", "shi feng"),
            ("福溪街道", "fu xi"),
            ("平桥镇", "ping qiao"),
            ("坦头镇", "tan tou"),
            ("三合镇", "san he"),
            ("洪畴镇", "hong chou"),
            ("白鹤镇", "bai he"),
            ("石梁镇", "shi liang"),
            ("街头镇", "jie tou"),
            ("雷峰乡", "lei feng"),
            ("南屏乡", "nan ping"),
            ("泳溪乡", "yong xi"),
            ("三州乡", "san zhou"),
            ("龙溪乡", "long xi"),
        ],
    },
    County {
        code: "331024",
        name: "仙居县",
        short: "仙居",
        abbr: "XJ",
        townships: &[
            ("福应街道", "fu ying"),
            ("南峰街道", "nan feng"),
            ("安洲街道", "an zhou"),
            ("横溪镇", "heng xi"),
            ("白塔镇", "bai ta"),
            ("田市镇", "tian shi"),
            ("官路镇", "guan lu"),
            ("下各镇", "xia ge"),
            ("朱溪镇", "zhu xi"),
            ("埠头镇", "bu tou"),
            ("步路乡", "bu lu"),
            ("上张乡", "shang zhang"),
            ("广度乡", "guang du"),
            ("淡竹乡", "dan zhu"),
            ("湫山乡", "qiu shan"),
            ("溪港乡", "xi gang"),
            ("大战乡", "da zhan"),
            ("双庙乡", "shuang miao"),
            ("皤滩乡", "po tan"),
            ("安岭乡", "an ling"),
        ],
    },
    County {
        code: "331081",
        name: "温岭市",
        short: "温岭",
        abbr: "WL",
        townships: &[
            ("太平街道", "tai ping"),
            ("城东街道", "cheng dong"),
            ("城西街道", "cheng xi"),
            ("城北街道", "cheng bei"),
            ("横峰街道", "heng feng"),
            ("泽国镇", "ze guo"),
            ("大溪镇", "da xi"),
            ("松门镇", "song men"),
            ("箬横镇", "ruo heng"),
            ("新河镇", "xin he"),
            ("石塘镇", "shi tang"),
            ("滨海镇", "bin hai"),
            ("温峤镇", "wen qiao"),
            ("城南镇", "cheng nan"),
            ("石桥头镇", "shi qiao tou"),
            ("坞根镇", "wu gen"),
        ],
    },
    County {
        code: "331082",
        name: "临海市",
        short: "临海",
        abbr: "LH",
        townships: &[
            ("古城街道", "gu cheng"),
            ("大洋街道", "da yang"),
            ("江南街道", "jiang nan"),
            ("大田街道", "da tian"),
            ("邵家渡街道", "shao jia du"),
            ("汛桥镇", "xun qiao"),
            ("东塍镇", "dong cheng"),
            ("涌泉镇", "yong quan"),
            ("尤溪镇", "you xi"),
            ("沿江镇", "yan jiang"),
            ("上盘镇", "shang pan"),
            ("桃渚镇", "tao zhu"),
            ("小芝镇", "xiao zhi"),
            ("河头镇", "he tou"),
            ("白水洋镇", "bai shui yang"),
            ("括苍镇", "kuo cang"),
            ("永丰镇", "yong feng"),
            ("杜桥镇", "du qiao"),
            ("汇溪镇", "hui xi"),
        ],
    },
    County {
        code: "331083",
        name: "玉环市",
        short: "玉环",
        abbr: "YH",
        townships: &[
            ("玉城街道", "yu cheng"),
            ("坎门街道", "kan men"),
            ("大麦屿街道", "da mai yu"),
            ("清港镇", "qing gang"),
            ("楚门镇", "chu men"),
            ("干江镇", "gan jiang"),
            ("沙门镇", "sha men"),
            ("芦浦镇", "lu pu"),
            ("龙溪镇", "long xi"),
            ("海山乡", "hai shan"),
        ],
    },
];

/// Stations whose resident deputies all get demo accounts, so a demo can log in as several
/// deputies of one place: (station code).
pub(crate) const SHOWCASE_STATIONS: &[&str] = &["JJ-HM", "LQ-LQ", "WL-ZG"];

/// Family names weighted roughly by how common they are in Taizhou (陈、王、林 lead there).
pub(crate) const SURNAMES: &[(&str, u32)] = &[
    ("陈", 90),
    ("王", 60),
    ("林", 55),
    ("李", 40),
    ("张", 38),
    ("金", 28),
    ("郑", 26),
    ("徐", 24),
    ("周", 22),
    ("黄", 22),
    ("杨", 18),
    ("吴", 18),
    ("叶", 16),
    ("潘", 15),
    ("蒋", 14),
    ("朱", 14),
    ("应", 12),
    ("刘", 12),
    ("梁", 10),
    ("许", 10),
    ("赵", 10),
    ("何", 9),
    ("罗", 8),
    ("卢", 8),
    ("蔡", 8),
    ("胡", 8),
    ("邵", 7),
    ("章", 7),
    ("陶", 6),
    ("洪", 6),
    ("方", 6),
    ("戴", 6),
    ("谢", 6),
    ("郭", 6),
    ("管", 5),
    ("颜", 5),
    ("牟", 5),
    ("江", 5),
    ("夏", 5),
    ("阮", 5),
    ("项", 5),
    ("毛", 5),
    ("丁", 5),
    ("孙", 5),
    ("柯", 4),
    ("施", 4),
    ("沈", 4),
    ("汪", 4),
    ("马", 4),
    ("姜", 4),
    ("泮", 3),
    ("池", 3),
    ("鲍", 3),
    ("包", 3),
    ("屈", 3),
    ("程", 3),
    ("奚", 2),
    ("娄", 2),
];

/// Characters common in men's given names.
pub(crate) const MALE_CHARS: &[&str] = &[
    "建", "国", "华", "伟", "军", "明", "志", "海", "波", "峰", "强", "勇", "斌", "杰", "东", "平",
    "荣", "林", "兵", "新", "文", "辉", "永", "宏", "立", "江", "成", "德", "正", "卫", "忠", "福",
    "祥", "俊", "涛", "超", "磊", "鹏", "宇", "浩", "晨", "凯", "锋", "亮", "刚", "春", "云", "力",
    "金", "富", "良", "仁", "友", "顺", "昌", "胜", "学", "坚", "庆", "泽", "智", "宁", "安", "光",
    "彬", "军", "洪", "敏", "达", "君", "振", "益",
];

/// Characters common in women's given names.
pub(crate) const FEMALE_CHARS: &[&str] = &[
    "芳", "丽", "萍", "燕", "红", "霞", "敏", "静", "娟", "英", "华", "玲", "慧", "君", "琴", "美",
    "秀", "云", "丹", "洁", "婷", "颖", "雪", "莉", "艳", "晓", "梅", "兰", "素", "月", "春", "珍",
    "佳", "倩", "琳", "瑶", "露", "璐", "蓉", "薇", "爱", "凤", "青", "微", "亚", "巧", "飞", "宁",
];

/// Party affiliations of deputies, weighted: most deputies are CPC members; the rest are
/// non-party (群众) or members of the eight democratic parties.
pub(crate) const PARTIES: &[(&str, u32)] = &[
    ("中共党员", 72),
    ("群众", 16),
    ("中国民主同盟盟员", 2),
    ("中国民主建国会会员", 2),
    ("中国民主促进会会员", 2),
    ("中国农工民主党党员", 2),
    ("九三学社社员", 2),
    ("中国致公党党员", 1),
    ("中国国民党革命委员会会员", 1),
];

/// First parts of plausible village and community names.
pub(crate) const PLACE_WORDS: &[&str] = &[
    "东山", "前洋", "西门", "南岙", "后塘", "新河", "上洋", "下洋", "横山", "塘岸", "里岙", "外沙",
    "枫林", "桥头", "岩头", "溪口", "山前", "石桥", "新联", "大路", "洋屿", "沙北", "金桥", "埠头",
    "樟树", "杨家", "王家", "林家", "陈家", "后岸", "中街", "湖滨", "兴华", "光明", "白塔", "龙湾",
    "清水", "梅园", "桃源", "三友", "红旗", "东升", "双港", "下塘", "前进", "长浦", "洋头", "水澄",
    "方山", "岙里", "五星", "江北", "城南", "柏树", "竹林", "上蒋", "下郑", "高园", "汇丰", "白沙",
    "凤凰", "长春", "青龙", "泉井", "黄泥", "塘里", "双桥", "后洋", "前山", "西岙", "东岙", "岭脚",
    "坑口", "洋坑", "塘头", "大岙", "小岙", "石门", "新建", "永丰", "向阳", "民主", "联丰", "丰收",
    "金沙", "银湖", "月湖", "桂花", "荷花", "茶山", "松林", "栖霞", "河西", "河东", "上街", "下街",
];

/// First parts of plausible road names.
pub(crate) const ROAD_WORDS: &[&str] = &[
    "人民", "解放", "建设", "新华", "文化", "中山", "振兴", "东升", "工人", "商业", "育英", "前进",
    "和平", "府前", "迎宾", "兴业", "康宁", "青年", "学院", "环城", "滨江", "广场", "腾达", "繁荣",
];

/// Road name endings.
pub(crate) const ROAD_ENDINGS: &[&str] =
    &["路", "大道", "街", "东路", "西路", "中路", "南路", "北路"];

/// Words for made-up company names.
pub(crate) const COMPANY_WORDS: &[&str] = &[
    "宏达", "永泰", "华鑫", "鼎盛", "恒信", "瑞丰", "天和", "新亚", "欣隆", "海宇", "立晨", "泰顺",
    "博远", "嘉诚", "宇航", "众成", "广源", "锦程", "正和", "金鹏", "华川", "联拓", "安达", "丰茂",
];

/// Industries typical of Taizhou (sewing machines, car and motorcycle parts, pumps, moulds,
/// plastics, valves, shoes, appliances, food).
pub(crate) const INDUSTRIES: &[&str] = &[
    "缝制设备",
    "汽摩配件",
    "水泵",
    "模具",
    "塑料制品",
    "阀门",
    "鞋业",
    "电器",
    "食品",
    "机械",
    "农业开发",
    "家居用品",
    "物流",
    "建设工程",
    "电子科技",
    "眼镜",
];

/// Pledges deputies put on their public profile (亮身份、作承诺).
pub(crate) const PLEDGES: &[&str] = &[
    "倾听群众呼声，反映群众意愿，帮助群众排忧解难。",
    "认真履职，不负重托，做人民群众的贴心人。",
    "扎根基层、心系群众，把群众的“小事”当成自己的“大事”。",
    "密切联系选民，及时反映社情民意，推动问题解决。",
    "为民代言、为民履职，积极为家乡发展建言献策。",
    "知民情、解民忧、暖民心，当好党和群众之间的桥梁。",
    "履职尽责，服务发展，让群众的每一条意见都有回音。",
    "常进站、常接待、常走访，做群众信得过的代表。",
];

/// Opening hours of stations.
pub(crate) const OPENING_HOURS: &[&str] = &[
    "周一至周五 8:30—12:00，14:00—17:30",
    "周一至周五 8:30—12:00，13:30—17:00",
    "周一至周六 8:30—11:30，14:00—17:00",
];

/// Reception schedules of township stations.
pub(crate) const RECEPTION_SCHEDULES: &[&str] = &[
    "每月15日上午 代表接待日；每周三 代表轮值驻站",
    "每月10日 代表接待日；工作日 代表轮值驻站",
    "每月第一个周二 代表接待日；每周四 代表轮值驻站",
    "每月5日、20日上午 代表接待日",
    "每月25日 代表接待日；每周一 代表轮值驻站",
];

/// Reception schedules of liaison points.
pub(crate) const POINT_SCHEDULES: &[&str] = &[
    "每月第二个周四下午 代表接待",
    "每月20日上午 代表接待",
    "每季度首月10日 代表接待；平时预约接待",
];

/// Mobile number prefixes of the three mainland carriers.
pub(crate) const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185",
    "186", "187", "188", "189", "191", "198", "199",
];

/// A handling unit of the city government: (code suffix, name, kind).
pub(crate) const CITY_UNITS: &[(&str, &str, UnitKind)] = &[
    (
        "FG",
        "台州市发展和改革委员会",
        UnitKind::GovernmentDepartment,
    ),
    ("JY", "台州市教育局", UnitKind::GovernmentDepartment),
    ("GA", "台州市公安局", UnitKind::GovernmentDepartment),
    ("MZ", "台州市民政局", UnitKind::GovernmentDepartment),
    ("CZ", "台州市财政局", UnitKind::GovernmentDepartment),
    (
        "RS",
        "台州市人力资源和社会保障局",
        UnitKind::GovernmentDepartment,
    ),
    (
        "ZR",
        "台州市自然资源和规划局",
        UnitKind::GovernmentDepartment,
    ),
    ("ST", "台州市生态环境局", UnitKind::GovernmentDepartment),
    (
        "ZJ",
        "台州市住房和城乡建设局",
        UnitKind::GovernmentDepartment,
    ),
    ("JT", "台州市交通运输局", UnitKind::GovernmentDepartment),
    ("SL", "台州市水利局", UnitKind::GovernmentDepartment),
    ("NY", "台州市农业农村局", UnitKind::GovernmentDepartment),
    ("SW", "台州市商务局", UnitKind::GovernmentDepartment),
    (
        "WG",
        "台州市文化和广电旅游体育局",
        UnitKind::GovernmentDepartment,
    ),
    ("WJ", "台州市卫生健康委员会", UnitKind::GovernmentDepartment),
    ("SJ", "台州市市场监督管理局", UnitKind::GovernmentDepartment),
    ("YB", "台州市医疗保障局", UnitKind::GovernmentDepartment),
    ("ZF", "台州市综合行政执法局", UnitKind::GovernmentDepartment),
    ("FY", "台州市中级人民法院", UnitKind::Court),
    ("JC", "台州市人民检察院", UnitKind::Procuratorate),
    ("JW", "台州市监察委员会", UnitKind::SupervisoryCommission),
    ("GD", "国网台州供电公司", UnitKind::PublicService),
];

/// Handling units every county has: (code suffix, name pattern, kind). `{county}` stands
/// for the county's full name and `{short}` for its short name. In Zhejiang a county's ecology
/// bureau is a branch of the city's bureau, hence its different pattern.
pub(crate) const COUNTY_UNITS: &[(&str, &str, UnitKind)] = &[
    ("JY", "{county}教育局", UnitKind::GovernmentDepartment),
    ("MZ", "{county}民政局", UnitKind::GovernmentDepartment),
    (
        "RS",
        "{county}人力资源和社会保障局",
        UnitKind::GovernmentDepartment,
    ),
    (
        "ZJ",
        "{county}住房和城乡建设局",
        UnitKind::GovernmentDepartment,
    ),
    ("JT", "{county}交通运输局", UnitKind::GovernmentDepartment),
    ("NY", "{county}农业农村局", UnitKind::GovernmentDepartment),
    ("WJ", "{county}卫生健康局", UnitKind::GovernmentDepartment),
    (
        "ZF",
        "{county}综合行政执法局",
        UnitKind::GovernmentDepartment,
    ),
    (
        "ST",
        "台州市生态环境局{short}分局",
        UnitKind::GovernmentDepartment,
    ),
    ("FY", "{county}人民法院", UnitKind::Court),
];
