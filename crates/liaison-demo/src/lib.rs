//! The deterministic Taizhou demo organisation.
//!
//! [`generate`] builds a whole [`Dataset`]: Zhejiang → Taizhou → its nine county-level divisions
//! → their real townships → made-up communities; the four tiers of liaison stations with their
//! people; about two thousand deputies at every level; handling units; grids; and demo accounts
//! for every role. The places are real, the people, addresses and numbers are invented.
//!
//! The same seed always gives the same bytes: all randomness comes from a small generator in
//! this crate, so a dependency upgrade can never change a demo or a screenshot.

mod builder;
mod data;
mod people;
mod rng;

use liaison_core::dataset::Dataset;

/// Builds the demo organisation. Same seed → byte-identical Dataset.
pub fn generate(seed: u64) -> Dataset {
    builder::build(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_core::org::{CongressLevel, RegionLevel, StationTier};
    use liaison_core::role::{Role, ScopeKind};
    use liaison_core::validate;
    use std::collections::{HashMap, HashSet};

    fn assert_unique<'a>(kind: &str, codes: impl Iterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for code in codes {
            assert!(seen.insert(code), "{kind} code {code} appears twice");
            assert!(
                validate::code("code", code).is_ok(),
                "{kind} code {code:?} is not a valid code"
            );
        }
    }

    fn is_taizhou_landline(phone: &str) -> bool {
        phone.len() == 13
            && phone.starts_with("0576-8")
            && phone[5..].chars().all(|c| c.is_ascii_digit())
    }

    #[test]
    fn the_same_seed_gives_byte_identical_datasets() {
        let a = generate(42);
        let b = generate(42);
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }

    #[test]
    fn different_seeds_give_different_deputies_on_the_same_places() {
        let a = generate(1);
        let b = generate(2);
        assert_ne!(a.deputies, b.deputies);
        assert_eq!(
            a.regions
                .iter()
                .filter(|r| r.level != RegionLevel::Community)
                .count(),
            b.regions
                .iter()
                .filter(|r| r.level != RegionLevel::Community)
                .count()
        );
    }

    #[test]
    fn every_code_is_unique_within_its_kind_and_valid() {
        for seed in [0, 1, 2026] {
            let ds = generate(seed);
            assert_unique("region", ds.regions.iter().map(|r| r.code.as_str()));
            assert_unique("station", ds.stations.iter().map(|r| r.code.as_str()));
            assert_unique("deputy", ds.deputies.iter().map(|r| r.code.as_str()));
            assert_unique("unit", ds.units.iter().map(|r| r.code.as_str()));
            assert_unique("grid", ds.grids.iter().map(|r| r.code.as_str()));
            let mut usernames = HashSet::new();
            for a in &ds.accounts {
                assert!(usernames.insert(&a.username), "{} twice", a.username);
                assert!(
                    validate::username("username", &a.username).is_ok(),
                    "{:?}",
                    a.username
                );
                assert!(a.password.is_empty(), "{} has a password", a.username);
                assert!(!a.display_name.is_empty());
            }
        }
    }

    #[test]
    fn every_reference_points_at_an_existing_row_listed_before_it() {
        let ds = generate(7);
        let mut regions: HashMap<&str, RegionLevel> = HashMap::new();
        for r in &ds.regions {
            match &r.parent_code {
                Some(parent) => {
                    let parent_level = regions.get(parent.as_str()).copied();
                    assert_eq!(parent_level.and_then(RegionLevel::child), Some(r.level));
                }
                None => assert_eq!(r.level, RegionLevel::Province),
            }
            regions.insert(&r.code, r.level);
        }
        let mut stations: HashMap<&str, StationTier> = HashMap::new();
        for s in &ds.stations {
            let level = regions[s.region_code.as_str()];
            let expected = match s.tier {
                StationTier::CityCenter => RegionLevel::City,
                StationTier::CountyHub => RegionLevel::County,
                StationTier::TownshipStation => RegionLevel::Township,
                StationTier::LiaisonPoint => RegionLevel::Community,
            };
            assert_eq!(level, expected, "station {}", s.code);
            match &s.parent_code {
                Some(parent) => assert!(stations.contains_key(parent.as_str()), "{}", s.code),
                None => assert_eq!(s.tier, StationTier::CityCenter),
            }
            stations.insert(&s.code, s.tier);
        }
        let deputies: HashSet<&str> = ds.deputies.iter().map(|d| d.code.as_str()).collect();
        for d in &ds.deputies {
            assert!(regions.contains_key(d.region_code.as_str()), "{}", d.code);
            if let Some(s) = &d.station_code {
                assert!(stations.contains_key(s.as_str()), "{}", d.code);
            }
            assert!(!d.seats.is_empty(), "{} has no seat", d.code);
        }
        for m in &ds.station_members {
            assert!(stations.contains_key(m.station_code.as_str()));
            if let Some(d) = &m.deputy_code {
                assert!(deputies.contains(d.as_str()));
            }
        }
        for u in &ds.units {
            assert!(regions.contains_key(u.region_code.as_str()), "{}", u.code);
        }
        for g in &ds.grids {
            assert_eq!(regions[g.region_code.as_str()], RegionLevel::Community);
            assert!(stations.contains_key(g.station_code.as_str()));
            assert!(!g.deputy_codes.is_empty());
            for d in &g.deputy_codes {
                assert!(deputies.contains(d.as_str()), "{}", g.code);
            }
        }
        let units: HashSet<&str> = ds.units.iter().map(|u| u.code.as_str()).collect();
        for a in &ds.accounts {
            let scope = a.scope.as_deref();
            match a.role.scope_kind() {
                ScopeKind::None => assert_eq!(scope, None, "{}", a.username),
                ScopeKind::Region => {
                    let level = regions[scope.expect("region scope")];
                    assert_eq!(Some(level), a.role.region_level(), "{}", a.username);
                }
                ScopeKind::Station => {
                    assert!(stations.contains_key(scope.expect("station scope")));
                }
                ScopeKind::Unit => assert!(units.contains(scope.expect("unit scope"))),
                ScopeKind::Deputy => assert!(deputies.contains(scope.expect("deputy scope"))),
            }
        }
    }

    #[test]
    fn every_mobile_is_valid_and_every_public_phone_is_a_taizhou_landline() {
        let ds = generate(11);
        let mobiles = ds
            .deputies
            .iter()
            .map(|d| &d.phone)
            .chain(ds.station_members.iter().map(|m| &m.phone))
            .chain(ds.grids.iter().map(|g| &g.worker_phone))
            .chain(ds.accounts.iter().map(|a| &a.phone));
        for phone in mobiles {
            assert!(validate::Phone::parse("phone", phone).is_ok(), "{phone}");
        }
        let landlines = ds
            .stations
            .iter()
            .map(|s| &s.phone)
            .chain(ds.units.iter().map(|u| &u.phone));
        for phone in landlines {
            assert!(is_taizhou_landline(phone), "{phone}");
        }
    }

    #[test]
    fn counts_are_those_of_a_city_like_taizhou() {
        for seed in [0, 3, 99, u64::MAX] {
            let ds = generate(seed);
            let level = |l| ds.regions.iter().filter(|r| r.level == l).count();
            let tier = |t| ds.stations.iter().filter(|s| s.tier == t).count();
            assert_eq!(level(RegionLevel::County), 9);
            assert!((110..=160).contains(&level(RegionLevel::Township)));
            assert_eq!(tier(StationTier::CityCenter), 1);
            assert_eq!(tier(StationTier::CountyHub), 9);
            assert!(tier(StationTier::TownshipStation) >= 120);
            let points = tier(StationTier::LiaisonPoint);
            assert!((40..=100).contains(&points), "{points} points");
            let n = ds.deputies.len();
            assert!((1_800..=2_300).contains(&n), "{n} deputies");
            assert!(ds.units.len() >= 20);
            for role in Role::ALL {
                assert!(ds.accounts.iter().any(|a| a.role == *role), "{role}");
            }
            let seat = |l| {
                ds.deputies
                    .iter()
                    .filter(|d| d.seats.iter().any(|s| s.level == l))
                    .count()
            };
            let city = seat(CongressLevel::City);
            assert!(
                (n / 14..=n / 7).contains(&city),
                "{city} city deputies of {n}"
            );
            assert!((n / 200..=n / 50).contains(&seat(CongressLevel::Provincial)));
            assert!((2..=3).contains(&seat(CongressLevel::National)));
            let two_levels = ds.deputies.iter().filter(|d| d.seats.len() >= 2).count();
            assert!(
                two_levels * 5 >= n,
                "only {two_levels} deputies sit at two levels"
            );
            let deputy_accounts = ds
                .accounts
                .iter()
                .filter(|a| a.role == Role::Deputy)
                .count();
            assert!((40..=70).contains(&deputy_accounts), "{deputy_accounts}");
        }
    }

    #[test]
    fn every_station_has_a_head_a_deputy_head_and_liaison_officers() {
        use liaison_core::org::StationRole;
        let ds = generate(5);
        for s in &ds.stations {
            let count = |role| {
                ds.station_members
                    .iter()
                    .filter(|m| m.station_code == s.code && m.role == role)
                    .count()
            };
            assert_eq!(count(StationRole::Head), 1, "{}", s.code);
            assert_eq!(count(StationRole::DeputyHead), 1, "{}", s.code);
            assert!((1..=3).contains(&count(StationRole::LiaisonOfficer)));
            let head = ds
                .station_members
                .iter()
                .find(|m| m.station_code == s.code && m.role == StationRole::Head)
                .unwrap();
            let head_deputy = head
                .deputy_code
                .as_ref()
                .map(|c| ds.deputies.iter().find(|d| &d.code == c).unwrap());
            match s.tier {
                StationTier::CountyHub => assert!(head_deputy.is_none(), "{}", s.code),
                // The Taizhou plan: a point is headed by a deputy of the county congress or above.
                StationTier::LiaisonPoint => {
                    let d = head_deputy.expect("a point's head is a deputy");
                    assert!(
                        d.seats
                            .iter()
                            .any(|seat| seat.level <= CongressLevel::County)
                    );
                }
                _ => assert!(head_deputy.is_some(), "{}", s.code),
            }
        }
        let grid_workers = ds
            .station_members
            .iter()
            .filter(|m| m.role == StationRole::GridWorker)
            .count();
        assert_eq!(grid_workers, ds.grids.len());
    }

    #[test]
    fn township_codes_follow_the_county_and_station_codes_read_like_places() {
        let ds = generate(0);
        let haimen = ds.regions.iter().find(|r| r.name == "海门街道").unwrap();
        assert_eq!(haimen.code, "331002001");
        let station = ds.stations.iter().find(|s| s.code == "JJ-HM").unwrap();
        assert_eq!(station.region_code, "331002001");
        assert_eq!(station.name, "椒江区海门街道人大代表联络站");
        assert!(ds.stations.iter().any(|s| s.code == "JJ-HM-01"));
        // 淡竹乡 (DZ) comes before 大战乡, which gets DZ2.
        let dazhan = ds.regions.iter().find(|r| r.name == "大战乡").unwrap();
        let st = ds
            .stations
            .iter()
            .find(|s| s.region_code == dazhan.code)
            .unwrap();
        assert_eq!(st.code, "XJ-DZ2");
        assert!(
            ds.units
                .iter()
                .any(|u| u.code == "TZ-ZJ" && u.name == "台州市住房和城乡建设局")
        );
        assert!(
            ds.units
                .iter()
                .any(|u| u.code == "JJ-HM-GOV" && u.name == "海门街道办事处")
        );
        assert!(ds.accounts.iter().any(|a| a.username == "town.jj-hm"));
        assert!(ds.accounts.iter().any(|a| a.username == "station.tz"));
    }

    #[test]
    fn deputies_of_streets_sit_in_the_county_congress_because_streets_have_none() {
        let ds = generate(8);
        let streets: HashSet<&str> = ds
            .regions
            .iter()
            .filter(|r| r.name.ends_with("街道"))
            .map(|r| r.code.as_str())
            .collect();
        for d in ds
            .deputies
            .iter()
            .filter(|d| streets.contains(d.region_code.as_str()))
        {
            assert!(d.seats.iter().all(|s| s.level != CongressLevel::Township));
            assert!(d.seats.iter().any(|s| s.level == CongressLevel::County));
        }
    }

    #[test]
    fn community_names_and_leading_posts_do_not_repeat_within_a_county() {
        let ds = generate(13);
        let mut names = HashSet::new();
        for r in ds
            .regions
            .iter()
            .filter(|r| r.level == RegionLevel::Community)
        {
            assert!(names.insert((&r.code[..6], &r.name)), "{} twice", r.name);
        }
        let mut posts = HashSet::new();
        for d in &ds.deputies {
            let job = &d.occupation;
            let leading = job.contains("书记")
                || ["局长", "院长", "校长", "园长", "理事长", "人大主席"]
                    .iter()
                    .any(|t| job.ends_with(t) && !job.ends_with(&format!("副{t}")));
            if leading {
                let county = d.code.split('-').next().unwrap();
                assert!(posts.insert((county, job)), "{job} held twice in {county}");
            }
        }
    }

    #[test]
    fn generating_is_fast() {
        let start = std::time::Instant::now();
        let ds = generate(2026);
        let elapsed = start.elapsed();
        assert!(!ds.deputies.is_empty());
        // Generous so an unoptimised test build on a busy machine passes; release is far faster.
        assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
    }
}
