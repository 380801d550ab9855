//! Builds the demo organisation from the fixed tables in [`crate::data`].
//!
//! The steps run in a fixed order, each drawing from its own random stream forked from the
//! seed: regions and the station plan, deputies, grids, stations with their members, handling
//! units, accounts. Deputies are made before stations because station heads are deputies, and
//! grids before station members because grid workers are listed at the station they report to.

use crate::data::{self, COUNTIES, County};
use crate::people::{People, Person};
use crate::rng::Rng;
use liaison_core::dataset::{
    AccountRow, CongressSeat, Dataset, DeputyRow, GridRow, RegionRow, StationMemberRow, StationRow,
    UnitRow,
};
use liaison_core::org::{CongressLevel, RegionLevel, StationRole, StationTier, UnitKind};
use liaison_core::role::Role;

const PROVINCE_CODE: &str = "330000";
const CITY_CODE: &str = "331000";
const CENTRE_CODE: &str = "TZ";
const CENTRE_NAME: &str = "台州市人大代表联络中心";

// Current terms: the 14th National and Provincial People's Congresses (2023), the 6th Taizhou
// Municipal People's Congress (2022); county and township congresses elected in 2021–2022 are
// shown as the 18th for every county, which is close enough for a demo.
const NATIONAL_TERM: &str = "第十四届";
const PROVINCIAL_TERM: &str = "第十四届";
const CITY_TERM: &str = "第六届";
const COUNTY_TERM: &str = "第十八届";
const TOWNSHIP_TERM: &str = "第十八届";

/// Builds the whole dataset for `seed`.
pub(crate) fn build(seed: u64) -> Dataset {
    let mut root = Rng::new(seed);
    let mut b = Builder {
        rng: root.fork(1),
        people: People::new(root.fork(2)),
        counties: Vec::new(),
        towns: Vec::new(),
        centre_head: 0,
        deputies: Vec::new(),
        grids: Vec::new(),
        ds: Dataset::default(),
    };
    b.plan_regions();
    b.make_deputies();
    b.make_grids();
    b.make_stations();
    b.make_units();
    b.make_accounts();
    b.ds.deputies = b.deputies;
    b.ds.grids = b.grids;
    b.ds
}

/// Streets (街道) have no people's congress of their own, unlike towns (镇) and townships (乡):
/// the county deputies elected there form a working committee instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TownKind {
    Street,
    Town,
    Xiang,
}

impl TownKind {
    fn of(name: &str) -> Self {
        if name.ends_with("街道") {
            TownKind::Street
        } else if name.ends_with('镇') {
            TownKind::Town
        } else {
            TownKind::Xiang
        }
    }

    fn has_congress(self) -> bool {
        self != TownKind::Street
    }
}

struct Community {
    code: String,
    /// Full name with its suffix, e.g. 东山社区 or 前洋村.
    name: String,
    is_village: bool,
}

struct Point {
    code: String,
    name: String,
    /// Index into the town's communities.
    community: usize,
    /// Index of the deputy who heads the point.
    head: usize,
}

struct Town {
    county: usize,
    code: String,
    name: &'static str,
    /// Name without 街道/镇/乡, e.g. 海门.
    short: &'static str,
    kind: TownKind,
    station: String,
    station_name: String,
    communities: Vec<Community>,
    points: Vec<Point>,
    /// Indices of the deputies whose region is this town.
    deputies: Vec<usize>,
    /// The deputy who chairs the town congress (or the street's working committee) and heads
    /// the station.
    head: usize,
}

struct CountyPlan {
    /// Indices into the builder's towns.
    towns: std::ops::Range<usize>,
    /// Next serial for deputy codes in the county.
    next_deputy: usize,
}

struct Builder {
    rng: Rng,
    people: People,
    counties: Vec<CountyPlan>,
    towns: Vec<Town>,
    centre_head: usize,
    deputies: Vec<DeputyRow>,
    grids: Vec<GridRow>,
    ds: Dataset,
}

/// What a deputy does, before it is written out as text.
#[derive(Debug, Clone, Copy)]
enum Job {
    VillageLeader,
    VillageDirector,
    EnterpriseHead,
    Worker,
    Teacher,
    Doctor,
    Farmer,
    SelfEmployed,
    Lawyer,
    CommunityWorker,
    TownOfficial,
}

const GRASSROOTS_JOBS: &[(Job, u32)] = &[
    (Job::VillageLeader, 18),
    (Job::VillageDirector, 8),
    (Job::EnterpriseHead, 20),
    (Job::Worker, 8),
    (Job::Teacher, 8),
    (Job::Doctor, 6),
    (Job::Farmer, 10),
    (Job::SelfEmployed, 8),
    (Job::Lawyer, 2),
    (Job::CommunityWorker, 6),
    (Job::TownOfficial, 6),
];

/// A deputy's occupation, whether it implies CPC membership, and the birth years that fit it.
struct Post {
    job: String,
    needs_party: bool,
    born: (i32, i32),
}

impl Post {
    /// A leading post (secretary, chair, head of government): CPC member, born 1965–1988.
    fn leader(job: String) -> Self {
        Post {
            job,
            needs_party: true,
            born: (1965, 1988),
        }
    }

    /// Any other post, open to every age from 1960 to 1995.
    fn ordinary(job: String, needs_party: bool) -> Self {
        Post {
            job,
            needs_party,
            born: (1960, 1995),
        }
    }
}

fn county_leader_title(county: &County) -> &'static str {
    if county.name.ends_with('区') {
        "区长"
    } else if county.name.ends_with('县') {
        "县长"
    } else {
        "市长"
    }
}

/// Upper-case initials of a space-separated romanisation: "shao jia du" → "SJD".
fn initials(romanisation: &str) -> String {
    romanisation
        .split_whitespace()
        .filter_map(|syllable| syllable.chars().next())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn strip_town_suffix(name: &'static str) -> &'static str {
    name.strip_suffix("街道")
        .or_else(|| name.strip_suffix('镇'))
        .or_else(|| name.strip_suffix('乡'))
        .unwrap_or(name)
}

impl Builder {
    // ---------------------------------------------------------------- regions and plan

    fn plan_regions(&mut self) {
        let mut rng = self.rng.fork(10);
        self.ds.regions.push(RegionRow {
            code: PROVINCE_CODE.to_owned(),
            name: "浙江省".to_owned(),
            level: RegionLevel::Province,
            parent_code: None,
        });
        self.ds.regions.push(RegionRow {
            code: CITY_CODE.to_owned(),
            name: "台州市".to_owned(),
            level: RegionLevel::City,
            parent_code: Some(PROVINCE_CODE.to_owned()),
        });
        for (ci, county) in COUNTIES.iter().enumerate() {
            self.ds.regions.push(RegionRow {
                code: county.code.to_owned(),
                name: county.name.to_owned(),
                level: RegionLevel::County,
                parent_code: Some(CITY_CODE.to_owned()),
            });
            let first_town = self.towns.len();
            let mut used_letters: Vec<String> = Vec::new();
            let mut used_words: Vec<&'static str> = Vec::new();
            for (ti, (name, romanisation)) in county.townships.iter().enumerate() {
                let code = format!("{}{:03}", county.code, ti + 1);
                self.ds.regions.push(RegionRow {
                    code: code.clone(),
                    name: (*name).to_owned(),
                    level: RegionLevel::Township,
                    parent_code: Some(county.code.to_owned()),
                });
                let letters = unique_letters(&initials(romanisation), &used_letters);
                used_letters.push(letters.clone());
                let kind = TownKind::of(name);
                let communities = plan_communities(&mut rng, &code, kind, &mut used_words);
                for c in &communities {
                    self.ds.regions.push(RegionRow {
                        code: c.code.clone(),
                        name: c.name.clone(),
                        level: RegionLevel::Community,
                        parent_code: Some(code.clone()),
                    });
                }
                let station = format!("{}-{}", county.abbr, letters);
                let station_name = format!("{}{}人大代表联络站", county.name, name);
                self.towns.push(Town {
                    county: ci,
                    code,
                    name,
                    short: strip_town_suffix(name),
                    kind,
                    station,
                    station_name,
                    communities,
                    points: Vec::new(),
                    deputies: Vec::new(),
                    head: 0,
                });
            }
            self.counties.push(CountyPlan {
                towns: first_town..self.towns.len(),
                next_deputy: 1,
            });
        }
    }

    // ---------------------------------------------------------------- deputies

    fn make_deputies(&mut self) {
        let mut rng = self.rng.fork(20);
        self.make_city_officials(&mut rng);
        for ci in 0..COUNTIES.len() {
            let towns = self.counties[ci].towns.clone();
            let with_points = choose_towns_with_points(&mut rng, &self.towns[towns.clone()]);
            for (t, has_points) in towns.zip(with_points) {
                self.make_town_deputies(&mut rng, t, has_points);
            }
            self.make_county_officials(&mut rng, ci);
            self.add_city_seats(&mut rng, ci);
        }
        self.add_provincial_and_national_seats(&mut rng);
        for d in &mut self.deputies {
            d.seats.sort_by_key(|s| s.level);
        }
    }

    /// A few deputies who work for the city itself; one of them heads the city centre.
    fn make_city_officials(&mut self, rng: &mut Rng) {
        const JOBS: &[&str] = &[
            "台州市人大常委会代表工作委员会主任",
            "台州市人大常委会副主任",
            "台州市人大常委会秘书长",
            "台州市人民政府副市长",
            "台州学院教授",
            "台州市中心医院主任医师",
        ];
        for (i, job) in JOBS.iter().enumerate() {
            let county = rng.below(COUNTIES.len());
            let code = format!("{CENTRE_CODE}-D{:04}", i + 1);
            let post = Post {
                job: (*job).to_owned(),
                needs_party: i < 4,
                born: (1963, 1980),
            };
            let idx = self.push_deputy(
                rng,
                code,
                post,
                CITY_CODE.to_owned(),
                Some((CENTRE_CODE.to_owned(), CENTRE_NAME.to_owned())),
                vec![city_seat(county)],
            );
            if i == 0 {
                self.centre_head = idx;
            }
        }
    }

    fn make_town_deputies(&mut self, rng: &mut Rng, t: usize, has_points: bool) {
        let kind = self.towns[t].kind;
        let name = self.towns[t].name;
        let station = (
            self.towns[t].station.clone(),
            self.towns[t].station_name.clone(),
        );

        // The chair of the town congress (街道: of the working committee) heads the station.
        let chair_job = if kind.has_congress() {
            format!("{name}人大主席")
        } else {
            format!("{name}人大工委主任")
        };
        let seats = self.town_seats(rng, t, true);
        let post = Post::leader(chair_job);
        let head = self.push_town_deputy(rng, t, post, Some(station.clone()), seats);
        self.towns[t].head = head;

        let secretary_job = if kind.has_congress() {
            format!("{name}党委书记")
        } else {
            format!("{name}党工委书记")
        };
        let seats = self.town_seats(rng, t, true);
        let post = Post::leader(secretary_job);
        self.push_town_deputy(rng, t, post, Some(station.clone()), seats);

        // Showcase streets get more deputies so a demo has several to log in as.
        let showcase = data::SHOWCASE_STATIONS.contains(&station.0.as_str());
        let (town_only, with_county) = match (kind.has_congress(), showcase) {
            (true, _) => (rng.range(10, 13), rng.range(2, 4)),
            (false, false) => (0, rng.range(6, 10)),
            (false, true) => (0, rng.range(12, 15)),
        };
        let mut taken: Vec<String> = Vec::new();
        for i in 0..town_only + with_county {
            let county_seat = i >= town_only;
            let post = self.grassroots_post(rng, t, &mut taken);
            let seats = self.town_seats(rng, t, county_seat);
            let resident = if rng.chance(90) {
                Some(station.clone())
            } else {
                None
            };
            self.push_town_deputy(rng, t, post, resident, seats);
        }

        if has_points {
            self.plan_points(rng, t);
        }
    }

    /// Picks one or two liaison points of a town and moves some of the town's deputies there;
    /// a point is headed by a county deputy, as the Taizhou plan asks.
    fn plan_points(&mut self, rng: &mut Rng, t: usize) {
        let n = rng.range(1, 2).min(self.towns[t].communities.len());
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < n {
            let c = rng.below(self.towns[t].communities.len());
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        chosen.sort_unstable();
        // County deputies of the town other than the chair and the party secretary.
        let mut candidates: Vec<usize> = self.towns[t]
            .deputies
            .iter()
            .copied()
            .skip(2)
            .filter(|&d| {
                self.deputies[d]
                    .seats
                    .iter()
                    .any(|s| s.level == CongressLevel::County)
            })
            .collect();
        let county = &COUNTIES[self.towns[t].county];
        for (i, c) in chosen.into_iter().enumerate() {
            let code = format!("{}-{:02}", self.towns[t].station, i + 1);
            let community = &self.towns[t].communities[c];
            let name = format!(
                "{}{}{}人大代表联络点",
                county.name, self.towns[t].name, community.name
            );
            let head = if candidates.is_empty() {
                self.towns[t].head
            } else {
                candidates.remove(rng.below(candidates.len()))
            };
            self.deputies[head].station_code = Some(code.clone());
            self.deputies[head].public_profile = self.profile(rng, Some(&name));
            // A few more of the town's deputies are resident at the point.
            let others: Vec<usize> = self.towns[t].deputies.iter().copied().skip(2).collect();
            for d in others {
                if d != head
                    && self.deputies[d].station_code.as_deref()
                        == Some(self.towns[t].station.as_str())
                    && rng.chance(15)
                {
                    self.deputies[d].station_code = Some(code.clone());
                    self.deputies[d].public_profile = self.profile(rng, Some(&name));
                }
            }
            self.towns[t].points.push(Point {
                code,
                name,
                community: c,
                head,
            });
        }
    }

    /// The county's own leaders and people from county-wide bodies and firms.
    fn make_county_officials(&mut self, rng: &mut Rng, ci: usize) {
        let county = &COUNTIES[ci];
        let hub = (
            county.abbr.to_owned(),
            format!("{}人大代表联络总站", county.name),
        );
        let leader = county_leader_title(county);
        // The first vice-chair is in charge of deputy work and is resident at the county hub.
        let mut jobs: Vec<String> = vec![
            format!("{}人大常委会副主任", county.name),
            format!("{}人大常委会主任", county.name),
            format!("{}人民政府{leader}", county.name),
            format!("{}人大常委会副主任", county.name),
            format!("{}人民政府副{leader}", county.name),
        ];
        // Heads of county bodies (one holder each), and people from county hospitals and firms.
        let mut single_posts: Vec<String> = data::COUNTY_UNITS
            .iter()
            .map(|(_, pattern, kind)| {
                let title = if *kind == UnitKind::Court {
                    "院长"
                } else {
                    "局长"
                };
                format!("{}{title}", county_unit_name(county, pattern))
            })
            .collect();
        for body in [
            "人民医院院长",
            "总工会常务副主席",
            "妇女联合会主席",
            "工商业联合会主席",
        ] {
            single_posts.push(format!("{}{body}", county.name));
        }
        let extra = rng.range(12, 18);
        for _ in 0..extra {
            let job = if !single_posts.is_empty() && rng.chance(50) {
                single_posts.remove(rng.below(single_posts.len()))
            } else if rng.chance(20) {
                format!("{}人民医院主任医师", county.name)
            } else {
                format!(
                    "浙江{}{}股份有限公司{}",
                    rng.pick(data::COMPANY_WORDS),
                    rng.pick(data::INDUSTRIES),
                    rng.pick(&["董事长", "总经理", "董事长兼总经理"])
                )
            };
            jobs.push(job);
        }
        for (i, job) in jobs.into_iter().enumerate() {
            let post = if i < 5 {
                Post::leader(job)
            } else {
                let needs_party = job.contains('局') || job.contains("院长");
                Post {
                    job,
                    needs_party,
                    born: (1965, 1985),
                }
            };
            let towns = self.counties[ci].towns.clone();
            let t = rng.range(towns.start, towns.end - 1);
            let seat = self.county_seat(rng, t);
            let station = if i == 0 || rng.chance(60) {
                Some(hub.clone())
            } else {
                None
            };
            let code = self.next_deputy_code(ci);
            self.push_deputy(rng, code, post, county.code.to_owned(), station, vec![seat]);
        }
    }

    /// City deputies elected by the county congress: the county's leaders, about one county
    /// deputy in six, and a few people who sit in the city congress only.
    fn add_city_seats(&mut self, rng: &mut Rng, ci: usize) {
        let county = &COUNTIES[ci];
        let mut county_deputies: Vec<usize> = (0..self.deputies.len())
            .filter(|&d| {
                self.deputies[d]
                    .code
                    .starts_with(&format!("{}-", county.abbr))
                    && self.deputies[d]
                        .seats
                        .iter()
                        .any(|s| s.level == CongressLevel::County)
            })
            .collect();
        let wanted = county_deputies.len() / 6;
        let mut chosen = 0;
        // The county congress chair and the head of government always sit in the city congress.
        for d in county_deputies.clone() {
            let job = &self.deputies[d].occupation;
            let head_of_government = format!("人民政府{}", county_leader_title(county));
            if job.ends_with("人大常委会主任") || job.ends_with(&head_of_government) {
                self.deputies[d].seats.push(city_seat(ci));
                county_deputies.retain(|&x| x != d);
                chosen += 1;
            }
        }
        while chosen < wanted && !county_deputies.is_empty() {
            let d = county_deputies.remove(rng.below(county_deputies.len()));
            self.deputies[d].seats.push(city_seat(ci));
            chosen += 1;
        }
        let hub = (
            county.abbr.to_owned(),
            format!("{}人大代表联络总站", county.name),
        );
        let city_only = rng.range(3, 5);
        for i in 0..city_only {
            let job = match (i, rng.below(3)) {
                (0, _) => format!("{}实验中学校长", county.name),
                (_, 0) => format!("{}中医院主任医师", county.name),
                (_, 1) => format!("浙江{}律师事务所主任", rng.pick(data::COMPANY_WORDS)),
                _ => format!(
                    "台州{}{}有限公司董事长",
                    rng.pick(data::COMPANY_WORDS),
                    rng.pick(data::INDUSTRIES)
                ),
            };
            let code = self.next_deputy_code(ci);
            let station = if rng.chance(70) {
                Some(hub.clone())
            } else {
                None
            };
            let post = Post {
                job,
                needs_party: false,
                born: (1965, 1988),
            };
            self.push_deputy(
                rng,
                code,
                post,
                county.code.to_owned(),
                station,
                vec![city_seat(ci)],
            );
        }
    }

    /// About 1% of deputies also sit in the provincial congress, and two or three of those in
    /// the national one, all drawn from city deputies as indirect elections work.
    fn add_provincial_and_national_seats(&mut self, rng: &mut Rng) {
        let mut city: Vec<usize> = (0..self.deputies.len())
            .filter(|&d| {
                self.deputies[d]
                    .seats
                    .iter()
                    .any(|s| s.level == CongressLevel::City)
            })
            .collect();
        let wanted = (self.deputies.len() / 100).max(3);
        let mut provincial = Vec::new();
        while provincial.len() < wanted && !city.is_empty() {
            let d = city.remove(rng.below(city.len()));
            self.deputies[d].seats.push(CongressSeat {
                level: CongressLevel::Provincial,
                term: PROVINCIAL_TERM.to_owned(),
                delegation: "台州代表团".to_owned(),
                constituency: "台州市人民代表大会".to_owned(),
            });
            provincial.push(d);
        }
        let national = rng.range(2, 3);
        for _ in 0..national {
            let d = provincial.remove(rng.below(provincial.len()));
            self.deputies[d].seats.push(CongressSeat {
                level: CongressLevel::National,
                term: NATIONAL_TERM.to_owned(),
                delegation: "浙江代表团".to_owned(),
                constituency: "浙江省人民代表大会".to_owned(),
            });
        }
    }

    /// Seats of a deputy elected in town `t`: the town congress where there is one, and the
    /// county congress when `county_seat` (or always, in streets).
    fn town_seats(&mut self, rng: &mut Rng, t: usize, county_seat: bool) -> Vec<CongressSeat> {
        let town = &self.towns[t];
        let mut seats = Vec::new();
        if town.kind.has_congress() {
            seats.push(CongressSeat {
                level: CongressLevel::Township,
                term: TOWNSHIP_TERM.to_owned(),
                delegation: format!("{}第{}代表小组", town.name, chinese_number(rng.range(1, 4))),
                constituency: format!("{}第{}选区", town.name, rng.range(1, 12)),
            });
        }
        if county_seat || !town.kind.has_congress() {
            seats.push(self.county_seat(rng, t));
        }
        seats
    }

    fn county_seat(&self, rng: &mut Rng, t: usize) -> CongressSeat {
        let town = &self.towns[t];
        CongressSeat {
            level: CongressLevel::County,
            term: COUNTY_TERM.to_owned(),
            delegation: format!("{}代表团", town.name),
            constituency: format!("{}第{}选区", town.name, rng.range(1, 8)),
        }
    }

    fn next_deputy_code(&mut self, ci: usize) -> String {
        let plan = &mut self.counties[ci];
        let code = format!("{}-D{:04}", COUNTIES[ci].abbr, plan.next_deputy);
        plan.next_deputy += 1;
        code
    }

    fn push_town_deputy(
        &mut self,
        rng: &mut Rng,
        t: usize,
        post: Post,
        station: Option<(String, String)>,
        seats: Vec<CongressSeat>,
    ) -> usize {
        let ci = self.towns[t].county;
        let code = self.next_deputy_code(ci);
        let region = self.towns[t].code.clone();
        let idx = self.push_deputy(rng, code, post, region, station, seats);
        self.towns[t].deputies.push(idx);
        idx
    }

    fn push_deputy(
        &mut self,
        rng: &mut Rng,
        code: String,
        post: Post,
        region_code: String,
        station: Option<(String, String)>,
        seats: Vec<CongressSeat>,
    ) -> usize {
        let Person {
            name,
            gender,
            phone,
        } = self.people.person();
        let party = if post.needs_party {
            "中共党员"
        } else {
            rng.pick_weighted(data::PARTIES)
        };
        let public_profile = self.profile(rng, station.as_ref().map(|(_, n)| n.as_str()));
        let email = self.people.maybe_email();
        self.deputies.push(DeputyRow {
            code,
            name,
            gender: gender.to_owned(),
            birth_year: Some(self.people.birth_year(post.born.0, post.born.1)),
            party: party.to_owned(),
            occupation: post.job,
            seats,
            region_code,
            station_code: station.map(|(code, _)| code),
            public_profile,
            phone,
            email,
        });
        self.deputies.len() - 1
    }

    /// 亮身份 text: a pledge and when the deputy receives voters.
    fn profile(&self, rng: &mut Rng, station_name: Option<&str>) -> String {
        let pledge = rng.pick(data::PLEDGES);
        match station_name {
            Some(station) => format!(
                "履职承诺：{pledge}进站安排：每月{}日上午在{station}轮值接待选民。",
                rng.pick(&[5, 10, 15, 20, 25])
            ),
            None => format!("履职承诺：{pledge}接待安排：每季度参加一次代表联络站集中接待活动。"),
        }
    }

    /// A post for a deputy elected in town `t`. Posts only one person can hold (a village's
    /// party secretary, a school's head) are given once; `taken` remembers them.
    fn grassroots_post(&self, rng: &mut Rng, t: usize, taken: &mut Vec<String>) -> Post {
        for _ in 0..20 {
            let (job, needs_party, single_holder) = self.grassroots_job(rng, t);
            if single_holder {
                if taken.contains(&job) {
                    continue;
                }
                taken.push(job.clone());
            }
            return Post::ordinary(job, needs_party);
        }
        Post::ordinary("个体工商户".to_owned(), false)
    }

    /// An occupation for a deputy elected in town `t`, whether it implies CPC membership, and
    /// whether only one person can hold it.
    fn grassroots_job(&self, rng: &mut Rng, t: usize) -> (String, bool, bool) {
        let town = &self.towns[t];
        let county = &COUNTIES[town.county];
        let community = rng.pick(&town.communities);
        match rng.pick_weighted(GRASSROOTS_JOBS) {
            Job::VillageLeader => {
                let job = if community.is_village {
                    format!("{}党支部书记、村委会主任", community.name)
                } else {
                    format!("{}党委书记、居委会主任", community.name)
                };
                (job, true, true)
            }
            Job::VillageDirector => {
                let job = if community.is_village {
                    format!("{}村委会主任", community.name)
                } else {
                    format!("{}居委会副主任", community.name)
                };
                (job, false, true)
            }
            Job::EnterpriseHead => {
                let title = rng.pick(&["董事长", "总经理", "副总经理", "董事长兼总经理"]);
                (
                    format!("{}{title}", company_name(rng, county)),
                    false,
                    false,
                )
            }
            Job::Worker => {
                let title = rng.pick(&["车间主任", "一线职工", "技术员", "班组长"]);
                (
                    format!("{}{title}", company_name(rng, county)),
                    false,
                    false,
                )
            }
            Job::Teacher => {
                let school = match rng.below(3) {
                    0 => format!("{}中心小学", town.name),
                    1 => format!("{}{}中学", county.name, town.short),
                    _ => format!("{}中心幼儿园", town.name),
                };
                let title = rng.pick(&["教师", "教师", "校长", "副校长"]);
                let title = if school.ends_with("幼儿园") && title.contains("校长") {
                    "园长"
                } else {
                    title
                };
                let single = title.ends_with("长") && !title.starts_with('副');
                (format!("{school}{title}"), false, single)
            }
            Job::Doctor => {
                let job = match (rng.below(3), town.kind) {
                    (0, _) => format!(
                        "{}人民医院{}",
                        county.name,
                        rng.pick(&["主任医师", "护士长"])
                    ),
                    (_, TownKind::Street) => format!("{}社区卫生服务中心医生", town.name),
                    _ => format!("{}卫生院{}", town.name, rng.pick(&["院长", "医生"])),
                };
                let single = job.ends_with("院长");
                (job, false, single)
            }
            Job::Farmer => {
                let job = match rng.below(4) {
                    0 => "农民".to_owned(),
                    1 => "家庭农场主".to_owned(),
                    2 => format!("{}种养大户", community.name),
                    _ => format!(
                        "{}{}{}专业合作社理事长",
                        county.name,
                        town.short,
                        rng.pick(&["果蔬", "杨梅", "柑橘", "西兰花", "水产"])
                    ),
                };
                let single = job.ends_with("理事长");
                (job, false, single)
            }
            Job::SelfEmployed => ("个体工商户".to_owned(), false, false),
            Job::Lawyer => (
                format!("浙江{}律师事务所律师", rng.pick(data::COMPANY_WORDS)),
                false,
                false,
            ),
            Job::CommunityWorker => {
                let job = if community.is_village {
                    format!("{}村务监督委员会主任", community.name)
                } else {
                    format!("{}社区工作者", community.name)
                };
                (job, false, community.is_village)
            }
            Job::TownOfficial => {
                let title = match town.kind {
                    TownKind::Street => rng.pick(&["办事处副主任", "党工委委员", "人大工委副主任"]),
                    TownKind::Town => rng.pick(&["副镇长", "党委委员", "人大副主席"]),
                    TownKind::Xiang => rng.pick(&["副乡长", "党委委员", "人大副主席"]),
                };
                (
                    format!("{}{title}", town.name),
                    true,
                    title.starts_with("人大"),
                )
            }
        }
    }

    // ---------------------------------------------------------------- grids

    fn make_grids(&mut self) {
        let mut rng = self.rng.fork(30);
        for t in 0..self.towns.len() {
            for c in 0..self.towns[t].communities.len() {
                let town = &self.towns[t];
                let community = &town.communities[c];
                let station = town
                    .points
                    .iter()
                    .find(|p| p.community == c)
                    .map_or(town.station.clone(), |p| p.code.clone());
                let count = rng.range(1, 3);
                for g in 1..=count {
                    let worker = self.people.staff_person();
                    let linked = rng.range(1, 2).min(town.deputies.len());
                    let mut deputy_codes: Vec<String> = Vec::new();
                    while deputy_codes.len() < linked {
                        let d = *rng.pick(&town.deputies);
                        let code = &self.deputies[d].code;
                        if !deputy_codes.contains(code) {
                            deputy_codes.push(code.clone());
                        }
                    }
                    self.grids.push(GridRow {
                        code: format!("{}-{}-G{g}", town.station, &community.code[9..]),
                        name: format!("{}{}第{g}网格", town.name, community.name),
                        region_code: community.code.clone(),
                        station_code: station.clone(),
                        worker_name: worker.name,
                        worker_phone: worker.phone,
                        deputy_codes,
                    });
                }
            }
        }
    }

    // ---------------------------------------------------------------- stations

    fn make_stations(&mut self) {
        let mut rng = self.rng.fork(40);
        let centre_address = format!("台州市椒江区{}", self.road(&mut rng));
        self.push_station(
            &mut rng,
            StationRow {
                code: CENTRE_CODE.to_owned(),
                name: CENTRE_NAME.to_owned(),
                tier: StationTier::CityCenter,
                region_code: CITY_CODE.to_owned(),
                parent_code: None,
                address: format!("{centre_address}（市民服务中心二楼）"),
                opening_hours: data::OPENING_HOURS[0].to_owned(),
                reception_schedule: "每月第一个周五 市人大代表接待日；工作日 代表轮值驻站"
                    .to_owned(),
                phone: String::new(),
                intro: "台州市人大代表联络中心统筹全市“市中心、县总站、镇（乡、街道）联络站、\
                        片区联络室（点）”四级阵地建设，汇集民意、督办建议、指导各站规范运行。"
                    .to_owned(),
            },
            Some(self.centre_head),
        );
        for (ci, county) in COUNTIES.iter().enumerate() {
            let seat_town = &self.towns[self.counties[ci].towns.start];
            let address = format!("{}{}{}", county.name, seat_town.name, self.road(&mut rng));
            self.push_station(
                &mut rng,
                StationRow {
                    code: county.abbr.to_owned(),
                    name: format!("{}人大代表联络总站", county.name),
                    tier: StationTier::CountyHub,
                    region_code: county.code.to_owned(),
                    parent_code: Some(CENTRE_CODE.to_owned()),
                    address,
                    opening_hours: data::OPENING_HOURS[0].to_owned(),
                    reception_schedule: "每月15日 县级以上人大代表集中接待日".to_owned(),
                    phone: String::new(),
                    intro: format!(
                        "{}人大代表联络总站负责全{}代表联络站的建设指导和运行管理，\
                         统筹代表进站履职和民意收集办理。",
                        county.name,
                        county
                            .name
                            .chars()
                            .last()
                            .map_or(String::new(), String::from)
                    ),
                },
                None,
            );
            for t in self.counties[ci].towns.clone() {
                self.push_town_stations(&mut rng, t);
            }
        }
    }

    fn push_town_stations(&mut self, rng: &mut Rng, t: usize) {
        let county = &COUNTIES[self.towns[t].county];
        let town = &self.towns[t];
        let resident = self
            .deputies
            .iter()
            .filter(|d| d.station_code.as_deref() == Some(town.station.as_str()))
            .count();
        let hall = if town.kind == TownKind::Street {
            "便民服务中心"
        } else {
            "人民政府"
        };
        let row = StationRow {
            code: town.station.clone(),
            name: town.station_name.clone(),
            tier: StationTier::TownshipStation,
            region_code: town.code.clone(),
            parent_code: Some(county.abbr.to_owned()),
            address: format!(
                "{}{}{}（{}{hall}{}楼）",
                county.name,
                town.name,
                self.road(rng),
                town.name,
                rng.range(1, 3)
            ),
            opening_hours: rng.pick(data::OPENING_HOURS).to_string(),
            reception_schedule: rng.pick(data::RECEPTION_SCHEDULES).to_string(),
            phone: String::new(),
            intro: format!(
                "{}设在{}{hall}，有{resident}名各级人大代表进站履职，设有代表接待室和议事协商室。\
                 群众可到站反映意见建议，也可扫描联络站码在线留言。",
                town.station_name, town.name
            ),
        };
        let head = town.head;
        self.push_station(rng, row, Some(head));
        for p in 0..self.towns[t].points.len() {
            let town = &self.towns[t];
            let point = &town.points[p];
            let community = &town.communities[point.community];
            let row = StationRow {
                code: point.code.clone(),
                name: point.name.clone(),
                tier: StationTier::LiaisonPoint,
                region_code: community.code.clone(),
                parent_code: Some(town.station.clone()),
                address: format!(
                    "{}{}{}{}（{}党群服务中心）",
                    county.name,
                    town.name,
                    community.name,
                    self.road(rng),
                    community.name
                ),
                opening_hours: "工作日 9:00—11:30，14:30—17:00".to_owned(),
                reception_schedule: rng.pick(data::POINT_SCHEDULES).to_string(),
                phone: String::new(),
                intro: format!(
                    "{}依托{}党群服务中心设立，由县级以上人大代表担任负责人，就近收集{}群众的意见建议。",
                    point.name, community.name, community.name
                ),
            };
            let head = point.head;
            self.push_station(rng, row, Some(head));
        }
    }

    /// Adds a station with its public phone, its head, a deputy head, one to three liaison
    /// officers and the workers of the grids that report to it. The head is the given deputy,
    /// or else (county hubs, run by the county congress's staff) a member of staff.
    fn push_station(&mut self, rng: &mut Rng, mut row: StationRow, head: Option<usize>) {
        row.phone = self.people.landline();
        let head = match head {
            Some(d) => {
                let deputy = &self.deputies[d];
                StationMemberRow {
                    station_code: row.code.clone(),
                    role: StationRole::Head,
                    name: deputy.name.clone(),
                    phone: deputy.phone.clone(),
                    deputy_code: Some(deputy.code.clone()),
                }
            }
            None => {
                let staff = self.people.staff_person();
                StationMemberRow {
                    station_code: row.code.clone(),
                    role: StationRole::Head,
                    name: staff.name,
                    phone: staff.phone,
                    deputy_code: None,
                }
            }
        };
        self.ds.station_members.push(head);
        let deputy_head = self.people.staff_person();
        self.ds.station_members.push(StationMemberRow {
            station_code: row.code.clone(),
            role: StationRole::DeputyHead,
            name: deputy_head.name,
            phone: deputy_head.phone,
            deputy_code: None,
        });
        for _ in 0..rng.range(1, 3) {
            let officer = self.people.staff_person();
            self.ds.station_members.push(StationMemberRow {
                station_code: row.code.clone(),
                role: StationRole::LiaisonOfficer,
                name: officer.name,
                phone: officer.phone,
                deputy_code: None,
            });
        }
        for grid in self.grids.iter().filter(|g| g.station_code == row.code) {
            self.ds.station_members.push(StationMemberRow {
                station_code: row.code.clone(),
                role: StationRole::GridWorker,
                name: grid.worker_name.clone(),
                phone: grid.worker_phone.clone(),
                deputy_code: None,
            });
        }
        self.ds.stations.push(row);
    }

    /// A made-up street address: road and number.
    fn road(&self, rng: &mut Rng) -> String {
        format!(
            "{}{}{}号",
            rng.pick(data::ROAD_WORDS),
            rng.pick(data::ROAD_ENDINGS),
            rng.range(1, 399)
        )
    }

    // ---------------------------------------------------------------- units

    fn make_units(&mut self) {
        for (suffix, name, kind) in data::CITY_UNITS {
            let phone = self.people.landline();
            self.ds.units.push(UnitRow {
                code: format!("{CENTRE_CODE}-{suffix}"),
                name: (*name).to_owned(),
                kind: *kind,
                region_code: CITY_CODE.to_owned(),
                phone,
            });
        }
        for (ci, county) in COUNTIES.iter().enumerate() {
            for (suffix, pattern, kind) in data::COUNTY_UNITS {
                let phone = self.people.landline();
                self.ds.units.push(UnitRow {
                    code: format!("{}-{suffix}", county.abbr),
                    name: county_unit_name(county, pattern),
                    kind: *kind,
                    region_code: county.code.to_owned(),
                    phone,
                });
            }
            for t in self.counties[ci].towns.clone() {
                let town = &self.towns[t];
                let name = if town.kind == TownKind::Street {
                    format!("{}办事处", town.name)
                } else {
                    format!("{}人民政府", town.name)
                };
                let phone = self.people.landline();
                self.ds.units.push(UnitRow {
                    code: format!("{}-GOV", town.station),
                    name,
                    kind: UnitKind::TownshipOffice,
                    region_code: town.code.clone(),
                    phone,
                });
            }
        }
    }

    // ---------------------------------------------------------------- accounts

    fn make_accounts(&mut self) {
        for (username, role) in [
            ("admin", Role::SystemAdmin),
            ("security", Role::SecurityAdmin),
            ("auditor", Role::AuditAdmin),
        ] {
            let phone = self.people.mobile();
            self.push_account(
                username.to_owned(),
                role.label().to_owned(),
                role,
                None,
                phone,
            );
        }
        let p = self.people.staff_person();
        self.push_account(
            "city".to_owned(),
            p.name,
            Role::CityStaff,
            Some(CITY_CODE.to_owned()),
            p.phone,
        );
        for county in COUNTIES {
            let p = self.people.staff_person();
            self.push_account(
                format!("county.{}", county.abbr.to_ascii_lowercase()),
                p.name,
                Role::CountyStaff,
                Some(county.code.to_owned()),
                p.phone,
            );
        }
        for t in 0..self.towns.len() {
            let p = self.people.staff_person();
            let town = &self.towns[t];
            let username = format!("town.{}", town.station.to_ascii_lowercase());
            let scope = town.code.clone();
            self.push_account(username, p.name, Role::TownshipStaff, Some(scope), p.phone);
        }
        // A station account belongs to the station's first liaison officer.
        let station_accounts: Vec<(String, String, String)> = self
            .ds
            .stations
            .iter()
            .filter(|s| s.tier != StationTier::LiaisonPoint)
            .filter_map(|s| {
                self.ds
                    .station_members
                    .iter()
                    .find(|m| m.station_code == s.code && m.role == StationRole::LiaisonOfficer)
                    .map(|m| (s.code.clone(), m.name.clone(), m.phone.clone()))
            })
            .collect();
        for (code, name, phone) in station_accounts {
            let username = format!("station.{}", code.to_ascii_lowercase());
            self.push_account(username, name, Role::StationStaff, Some(code), phone);
        }
        for d in self.deputies_with_accounts() {
            let deputy = &self.deputies[d];
            let username = format!("deputy.{}", deputy.code.to_ascii_lowercase());
            let (name, code, phone) = (
                deputy.name.clone(),
                deputy.code.clone(),
                deputy.phone.clone(),
            );
            self.push_account(username, name, Role::Deputy, Some(code), phone);
        }
        // Grid workers of the showcase stations record what they hear on their rounds (代录).
        let grid_accounts: Vec<(String, String, String, String)> = self
            .grids
            .iter()
            .filter(|g| {
                data::SHOWCASE_STATIONS.iter().any(|show| {
                    g.station_code == *show || g.station_code.starts_with(&format!("{show}-"))
                })
            })
            .map(|g| {
                (
                    g.code.clone(),
                    g.worker_name.clone(),
                    g.station_code.clone(),
                    g.worker_phone.clone(),
                )
            })
            .collect();
        for (code, name, station, phone) in grid_accounts {
            let username = format!("grid.{}", code.to_ascii_lowercase());
            self.push_account(username, name, Role::GridWorker, Some(station), phone);
        }
        let units: Vec<String> = self
            .ds
            .units
            .iter()
            .filter(|u| u.kind != UnitKind::TownshipOffice)
            .map(|u| u.code.clone())
            .collect();
        for code in units {
            for (prefix, role) in [("unit", Role::UnitOfficer), ("lead", Role::UnitLead)] {
                let p = self.people.staff_person();
                let username = format!("{prefix}.{}", code.to_ascii_lowercase());
                self.push_account(username, p.name, role, Some(code.clone()), p.phone);
            }
        }
        for i in 1..=3 {
            let p = self.people.staff_person();
            self.push_account(
                format!("citizen.{i:02}"),
                p.name,
                Role::Citizen,
                None,
                p.phone,
            );
        }
    }

    /// Deputies who get a demo account: everyone resident at a showcase station, then national,
    /// provincial and city-centre deputies, up to about fifty.
    fn deputies_with_accounts(&self) -> Vec<usize> {
        const TARGET: usize = 50;
        let mut chosen: Vec<usize> = (0..self.deputies.len())
            .filter(|&d| {
                self.deputies[d].station_code.as_deref().is_some_and(|s| {
                    data::SHOWCASE_STATIONS.contains(&s)
                        || data::SHOWCASE_STATIONS
                            .iter()
                            .any(|show| s.starts_with(&format!("{show}-")))
                })
            })
            .collect();
        let by_rank = |level: CongressLevel| {
            (0..self.deputies.len())
                .filter(move |&d| self.deputies[d].seats.iter().any(|s| s.level == level))
        };
        let extra: Vec<usize> = by_rank(CongressLevel::National)
            .chain(by_rank(CongressLevel::Provincial))
            .chain((0..self.deputies.len()).filter(|&d| self.deputies[d].region_code == CITY_CODE))
            .collect();
        for d in extra {
            if chosen.len() >= TARGET {
                break;
            }
            if !chosen.contains(&d) {
                chosen.push(d);
            }
        }
        chosen
    }

    fn push_account(
        &mut self,
        username: String,
        display_name: String,
        role: Role,
        scope: Option<String>,
        phone: String,
    ) {
        self.ds.accounts.push(AccountRow {
            username,
            display_name,
            role,
            scope,
            phone,
            password: String::new(),
        });
    }
}

/// Which towns of a county get liaison points: the showcase ones and others drawn at random,
/// a third of the county's towns in all (rounded up).
fn choose_towns_with_points(rng: &mut Rng, towns: &[Town]) -> Vec<bool> {
    let mut chosen: Vec<bool> = towns
        .iter()
        .map(|t| data::SHOWCASE_STATIONS.contains(&t.station.as_str()))
        .collect();
    let wanted = towns.len().div_ceil(3);
    while chosen.iter().filter(|c| **c).count() < wanted {
        let i = rng.below(towns.len());
        chosen[i] = true;
    }
    chosen
}

/// Makes `letters` unique among `used` by appending 2, 3, … on a clash (淡竹 DZ, 大战 DZ2).
fn unique_letters(letters: &str, used: &[String]) -> String {
    if !used.iter().any(|u| u == letters) {
        return letters.to_owned();
    }
    (2..)
        .map(|n| format!("{letters}{n}"))
        .find(|candidate| !used.contains(candidate))
        .unwrap_or_else(|| letters.to_owned())
}

/// Two to four communities of a town, with plausible made-up names: mostly 社区 in streets,
/// mostly 村 in towns, only 村 in townships.
///
/// Names never repeat within a town and, while the word list lasts, not within the county
/// either (`used_in_county`), so a name in a list or a search is unambiguous.
fn plan_communities(
    rng: &mut Rng,
    town_code: &str,
    kind: TownKind,
    used_in_county: &mut Vec<&'static str>,
) -> Vec<Community> {
    let n = rng.range(2, 4);
    let mut out: Vec<Community> = Vec::with_capacity(n);
    let mut used_in_town: Vec<&str> = Vec::with_capacity(n);
    for i in 0..n {
        let mut word = *rng.pick(data::PLACE_WORDS);
        let mut tries = 0;
        while used_in_town.contains(&word) || (used_in_county.contains(&word) && tries < 100) {
            word = *rng.pick(data::PLACE_WORDS);
            tries += 1;
        }
        used_in_town.push(word);
        used_in_county.push(word);
        let is_village = match kind {
            TownKind::Street => rng.chance(20),
            TownKind::Town => i > 0 || rng.chance(60),
            TownKind::Xiang => true,
        };
        let suffix = if is_village { "村" } else { "社区" };
        out.push(Community {
            code: format!("{town_code}{:03}", i + 1),
            name: format!("{word}{suffix}"),
            is_village,
        });
    }
    out
}

fn county_unit_name(county: &County, pattern: &str) -> String {
    pattern
        .replace("{county}", county.name)
        .replace("{short}", county.short)
}

fn city_seat(county: usize) -> CongressSeat {
    let county = &COUNTIES[county];
    CongressSeat {
        level: CongressLevel::City,
        term: CITY_TERM.to_owned(),
        delegation: format!("{}代表团", county.short),
        constituency: format!("{}人民代表大会", county.name),
    }
}

fn chinese_number(n: usize) -> &'static str {
    [
        "零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
    ]
    .get(n)
    .copied()
    .unwrap_or("十")
}

/// A made-up firm registered in `county`, e.g. 温岭市宏达水泵有限公司.
fn company_name(rng: &mut Rng, county: &County) -> String {
    format!(
        "{}{}{}有限公司",
        county.name,
        rng.pick(data::COMPANY_WORDS),
        rng.pick(data::INDUSTRIES)
    )
}
