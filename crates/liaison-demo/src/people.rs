//! Made-up people: names, genders, mobile and landline numbers, e-mail addresses.
//!
//! Names and numbers are unique across the whole demo, so a search for one name finds one
//! person and no two people share a phone.

use crate::data;
use crate::rng::Rng;
use std::collections::HashSet;

/// A made-up person.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    /// Full name, e.g. 陈建华.
    pub name: String,
    /// 男 or 女.
    pub gender: &'static str,
    /// Mainland mobile number, 11 digits.
    pub phone: String,
}

/// Hands out people and numbers that have not been used yet.
pub(crate) struct People {
    rng: Rng,
    names: HashSet<String>,
    numbers: HashSet<String>,
}

/// How often a made-up person is a man, in percent; about the share in Chinese congresses.
const MALE_PERCENT: usize = 70;

impl People {
    /// Starts with nobody used.
    pub(crate) fn new(rng: Rng) -> Self {
        Self {
            rng,
            names: HashSet::new(),
            numbers: HashSet::new(),
        }
    }

    /// A new person, a man with the usual congress share.
    pub(crate) fn person(&mut self) -> Person {
        let male = self.rng.chance(MALE_PERCENT);
        self.person_of(male)
    }

    /// A new person whose gender is even odds (staff, grid workers).
    pub(crate) fn staff_person(&mut self) -> Person {
        let male = self.rng.chance(50);
        self.person_of(male)
    }

    fn person_of(&mut self, male: bool) -> Person {
        let name = self.name(male);
        let phone = self.mobile();
        Person {
            name,
            gender: if male { "男" } else { "女" },
            phone,
        }
    }

    /// A name not handed out before. After many clashes (not seen in practice) a repeat is
    /// accepted rather than looping for ever.
    fn name(&mut self, male: bool) -> String {
        let chars = if male {
            data::MALE_CHARS
        } else {
            data::FEMALE_CHARS
        };
        let mut name = String::new();
        for _ in 0..100 {
            name.clear();
            let surname: &&str = self.rng.pick_weighted(data::SURNAMES);
            name.push_str(surname);
            let first = *self.rng.pick(chars);
            name.push_str(first);
            // About one in four given names has a single character.
            if !self.rng.chance(25) {
                let mut second = *self.rng.pick(chars);
                while second == first {
                    second = *self.rng.pick(chars);
                }
                name.push_str(second);
            }
            if self.names.insert(name.clone()) {
                break;
            }
        }
        name
    }

    /// A mainland mobile number (1[3-9] and nine more digits) not handed out before.
    pub(crate) fn mobile(&mut self) -> String {
        loop {
            let mut number = (*self.rng.pick(data::MOBILE_PREFIXES)).to_owned();
            for _ in 0..8 {
                number.push(self.digit());
            }
            if self.numbers.insert(number.clone()) {
                return number;
            }
        }
    }

    /// A Taizhou landline (area code 0576, eight-digit local numbers beginning with 8) not
    /// handed out before.
    pub(crate) fn landline(&mut self) -> String {
        loop {
            let mut number = String::from("0576-8");
            for _ in 0..7 {
                number.push(self.digit());
            }
            if self.numbers.insert(number.clone()) {
                return number;
            }
        }
    }

    /// A private e-mail address, or an empty string for the many deputies who give none.
    pub(crate) fn maybe_email(&mut self) -> String {
        if !self.rng.chance(40) {
            return String::new();
        }
        // QQ numbers are 5 to 11 digits without a leading zero; they are the usual private
        // mailbox in China, and 163.com accepts the same digits as a name.
        let len = self.rng.range(8, 10);
        let mut local = String::new();
        local.push(char::from(b'1' + self.rng.below(9) as u8));
        for _ in 1..len {
            local.push(self.digit());
        }
        let domain = *self.rng.pick(&["qq.com", "qq.com", "163.com", "126.com"]);
        format!("{local}@{domain}")
    }

    /// A birth year in `lo..=hi`.
    pub(crate) fn birth_year(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.rng.below((hi - lo + 1) as usize) as i32
    }

    fn digit(&mut self) -> char {
        char::from(b'0' + self.rng.below(10) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_two_or_three_chinese_characters_and_never_repeat() {
        let mut people = People::new(Rng::new(3));
        let mut seen = HashSet::new();
        for _ in 0..3_000 {
            let p = people.person();
            let n = p.name.chars().count();
            assert!((2..=3).contains(&n), "{}", p.name);
            assert!(seen.insert(p.name));
        }
    }

    #[test]
    fn about_seven_in_ten_deputies_are_men() {
        let mut people = People::new(Rng::new(4));
        let men = (0..2_000)
            .filter(|_| people.person().gender == "男")
            .count();
        assert!((1_300..1_500).contains(&men), "{men} men");
    }

    #[test]
    fn landlines_use_the_taizhou_area_code() {
        let mut people = People::new(Rng::new(5));
        let n = people.landline();
        assert_eq!(n.len(), 13);
        assert!(n.starts_with("0576-8"));
    }
}
