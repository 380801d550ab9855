//! The organisation: region levels, station tiers, congress levels, handling-unit kinds.
//!
//! Each enum has one English code (used in the database, the API and import files) and one
//! Chinese label (used on screen and accepted in import files, so clerks can type either).

use serde::{Deserialize, Serialize};

macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($code:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The English code stored in the database and used by the API.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese name shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Reads the English code or the Chinese name.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                match s {
                    $($code | $label => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use coded_enum;

coded_enum!(
    /// Level of a node in the administrative region tree.
    RegionLevel {
        Province => ("province", "省"),
        City => ("city", "市"),
        County => ("county", "县（市、区）"),
        Township => ("township", "乡镇（街道）"),
        Community => ("community", "村（社区）"),
    }
);

impl RegionLevel {
    /// The level a child of this level has, if any.
    pub fn child(self) -> Option<RegionLevel> {
        match self {
            RegionLevel::Province => Some(RegionLevel::City),
            RegionLevel::City => Some(RegionLevel::County),
            RegionLevel::County => Some(RegionLevel::Township),
            RegionLevel::Township => Some(RegionLevel::Community),
            RegionLevel::Community => None,
        }
    }
}

coded_enum!(
    /// The four tiers of liaison stations.
    StationTier {
        CityCenter => ("city_center", "市联络中心"),
        CountyHub => ("county_hub", "县联络总站"),
        TownshipStation => ("township_station", "乡镇（街道）联络站"),
        LiaisonPoint => ("liaison_point", "片区联络室（点）"),
    }
);

coded_enum!(
    /// Which congress a deputy sits in; one person may sit in several.
    CongressLevel {
        National => ("national", "全国"),
        Provincial => ("provincial", "省"),
        City => ("city", "市"),
        County => ("county", "县（市、区）"),
        Township => ("township", "乡镇"),
    }
);

coded_enum!(
    /// The kind of body a handling unit is.
    UnitKind {
        GovernmentDepartment => ("government_department", "政府部门"),
        TownshipOffice => ("township_office", "乡镇（街道）"),
        Court => ("court", "法院"),
        Procuratorate => ("procuratorate", "检察院"),
        SupervisoryCommission => ("supervisory_commission", "监察委员会"),
        PublicService => ("public_service", "公共服务单位"),
    }
);

coded_enum!(
    /// What a person does at a station.
    StationRole {
        Head => ("head", "站长"),
        DeputyHead => ("deputy_head", "副站长"),
        LiaisonOfficer => ("liaison_officer", "联络员"),
        GridWorker => ("grid_worker", "网格员"),
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels_round_trip() {
        for t in StationTier::ALL {
            assert_eq!(StationTier::parse(t.code()), Some(*t));
            assert_eq!(StationTier::parse(t.label()), Some(*t));
        }
        assert_eq!(
            RegionLevel::parse(" township "),
            Some(RegionLevel::Township)
        );
        assert_eq!(UnitKind::parse("不存在"), None);
    }

    #[test]
    fn region_levels_nest() {
        assert_eq!(RegionLevel::City.child(), Some(RegionLevel::County));
        assert_eq!(RegionLevel::Community.child(), None);
    }
}
