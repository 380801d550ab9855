//! Parsing user input into values that are known to be valid ("parse, don't validate").
//!
//! Every error is a Chinese sentence that says what is wrong and what to do, because it is shown
//! to the person who typed the value, next to the field, with what they typed kept.

use serde::{Deserialize, Serialize};

/// A validation failure for one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct FieldError {
    /// The field name as in the form or JSON body.
    pub field: String,
    /// What is wrong, in Chinese.
    pub message: String,
}

impl FieldError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A mainland China mobile number: 11 digits starting with 1[3-9].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces, dashes and a leading +86 / 86, as people type them.
    pub fn parse(field: &str, input: &str) -> Result<Self, FieldError> {
        let digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("86").filter(|d| d.len() == 11))
            .unwrap_or(&digits);
        let ok = digits.len() == 11
            && digits.chars().all(|c| c.is_ascii_digit())
            && digits.starts_with('1')
            && matches!(digits.as_bytes()[1], b'3'..=b'9');
        if ok {
            Ok(Phone(digits.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "请填写正确的11位中国大陆手机号码，例如 13812345678",
            ))
        }
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits, used with a tracking number instead of an account.
    pub fn last4(&self) -> &str {
        &self.0[7..]
    }
}

/// Masks a phone number for display: `138****5678`. Anything that is not 11 characters is
/// masked whole, so a malformed value never leaks.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() == 11 {
        format!(
            "{}****{}",
            chars[..3].iter().collect::<String>(),
            chars[7..].iter().collect::<String>()
        )
    } else if phone.is_empty() {
        String::new()
    } else {
        "****".to_owned()
    }
}

/// Masks what identifies a person in text that is about to be published (reference §7.1:
/// redact before publication): every run of 11 or more digits — mobile numbers, landlines with
/// their area code, identity-card and bank-card numbers, also when written with spaces or
/// hyphens between groups or in full-width digits — keeps its first three and last two digits
/// (`138******78`), and the part before the `@` of an e-mail address keeps its first character.
/// Shorter numbers (amounts, dates, house numbers) stay as written.
pub fn redact_for_publication(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let is_digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if is_digit(chars[i]) {
            // The run: digits, with single spaces or hyphens between them, and the X that may
            // end an identity-card number.
            let mut end = i;
            let mut j = i;
            while j < chars.len() {
                if is_digit(chars[j]) {
                    end = j + 1;
                    j += 1;
                } else if matches!(chars[j], ' ' | '-' | '－')
                    && j + 1 < chars.len()
                    && is_digit(chars[j + 1])
                {
                    j += 1;
                } else {
                    break;
                }
            }
            if end < chars.len() && matches!(chars[end], 'X' | 'x' | 'Ｘ') {
                end += 1;
            }
            let run = &chars[i..end];
            let digits = run
                .iter()
                .filter(|&&c| c != ' ' && c != '-' && c != '－')
                .count();
            if digits >= 11 {
                let mut seen = 0;
                for &c in run {
                    if matches!(c, ' ' | '-' | '－') {
                        out.push(c);
                        continue;
                    }
                    seen += 1;
                    out.push(if seen <= 3 || seen > digits - 2 {
                        c
                    } else {
                        '*'
                    });
                }
            } else {
                out.extend(run);
            }
            i = end;
        } else if chars[i] == '@' {
            // Mask the local part already written: back to the start of the address.
            let local: Vec<char> = out
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
                .collect();
            if local.len() > 1 {
                let keep = *local.last().expect("at least two");
                for _ in 0..local.len() {
                    out.pop();
                }
                out.push(keep);
                out.push_str("***");
            }
            out.push('@');
            i += 1;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Masks a person's name for display: 张** keeps the family name only.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

/// Checks a required free-text field and its length in characters (not bytes).
pub fn required_text(
    field: &str,
    label: &str,
    input: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    let value = input.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, format!("请填写{label}")));
    }
    optional_text(field, label, value, max_chars)
}

/// Checks an optional free-text field's length in characters; returns it trimmed.
pub fn optional_text(
    field: &str,
    label: &str,
    input: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    let value = input.trim();
    let n = value.chars().count();
    if n > max_chars {
        return Err(FieldError::new(
            field,
            format!("{label}最多{max_chars}个字，现在是{n}个字，请删减后再提交"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            format!("{label}含有无法识别的控制字符，请删除"),
        ));
    }
    Ok(value.to_owned())
}

/// A stable short code (stations, deputies, units, grids): letters, digits, `-` and `_`,
/// 2 to 32 characters. Codes appear in QR links, so they must be URL-safe and never change.
pub fn code(field: &str, input: &str) -> Result<String, FieldError> {
    let value = input.trim();
    let ok = (2..=32).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "编码只能由2至32位字母、数字、“-”或“_”组成，例如 JJ-HM01",
        ))
    }
}

/// A login name: 3 to 32 lowercase letters, digits, `.`, `-` or `_`.
pub fn username(field: &str, input: &str) -> Result<String, FieldError> {
    let value = input.trim();
    let ok = (3..=32).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "用户名须为3至32位小写字母、数字或“.”“-”“_”",
        ))
    }
}

/// A new password: at least 10 characters with at least three of lowercase, uppercase, digits
/// and symbols (the usual 等保 complexity rule).
pub fn new_password(field: &str, input: &str) -> Result<String, FieldError> {
    let classes = [
        input.chars().any(|c| c.is_ascii_lowercase()),
        input.chars().any(|c| c.is_ascii_uppercase()),
        input.chars().any(|c| c.is_ascii_digit()),
        input.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if input.chars().count() < 10 || classes < 3 {
        return Err(FieldError::new(
            field,
            "密码至少10位，并包含大写字母、小写字母、数字、符号中的至少三种",
        ));
    }
    if input.chars().count() > 128 {
        return Err(FieldError::new(field, "密码最多128位"));
    }
    Ok(input.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_numbers_are_masked_before_publication() {
        assert_eq!(
            redact_for_publication("我的电话13812345678，请联系"),
            "我的电话138******78，请联系"
        );
        assert_eq!(
            redact_for_publication("身份证33100219800101123X号"),
            "身份证331*************3X号"
        );
        assert_eq!(
            redact_for_publication("座机0576-88881234或138 1234 5678"),
            "座机057*-******34或138 **** **78"
        );
        assert_eq!(
            redact_for_publication("全角１３８１２３４５６７８"),
            "全角１３８******７８"
        );
        assert_eq!(
            redact_for_publication("邮箱 wang.xm@example.com 联系"),
            "邮箱 w***@example.com 联系"
        );
        // Amounts, dates and house numbers stay.
        let plain = "2024年3月5日起拖欠工资35000元，3号楼1201室，20240305";
        assert_eq!(redact_for_publication(plain), plain);
        assert_eq!(redact_for_publication(""), "");
    }

    #[test]
    fn a_mobile_number_with_11_digits_is_accepted() {
        assert_eq!(
            Phone::parse("phone", "138 1234 5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            Phone::parse("phone", "+8613812345678").unwrap().last4(),
            "5678"
        );
        assert_eq!(
            Phone::parse("phone", "8613812345678").unwrap().as_str(),
            "13812345678"
        );
    }

    #[test]
    fn landlines_and_short_numbers_are_rejected() {
        for bad in ["0576-88888888", "1381234567", "12812345678", "abc", ""] {
            assert!(Phone::parse("phone", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masking_hides_the_middle_and_the_given_name() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "****");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "李*");
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        assert!(required_text("body", "内容", &"字".repeat(10), 10).is_ok());
        let err = required_text("body", "内容", &"字".repeat(11), 10).unwrap_err();
        assert!(err.message.contains("最多10个字"));
        assert!(required_text("body", "内容", "  ", 10).is_err());
    }

    #[test]
    fn codes_are_url_safe() {
        assert!(code("code", "JJ-HM01").is_ok());
        assert!(code("code", "椒江").is_err());
        assert!(code("code", "a b").is_err());
    }

    #[test]
    fn passwords_need_length_and_variety() {
        assert!(new_password("p", "Abcdefgh12").is_ok());
        assert!(new_password("p", "abcdefghij").is_err());
        assert!(new_password("p", "Ab1!").is_err());
    }
}
