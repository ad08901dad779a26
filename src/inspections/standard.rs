//! 《金属非金属矿山重大事故隐患判定标准》(矿安〔2022〕88号): its three lists, shipped as
//! data in `config/hazard-standard-2022.toml`, each entry coded by its position
//! (U7-3 = 一（七）3). A major hazard names one leaf of the list its mine's type calls for.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::platform::rules::coded_enum;
use crate::register::rules::mine::{MineType, MiningMethod};

const SOURCE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/config/hazard-standard-2022.toml"
));

coded_enum! {
    /// One of the standard's three parts.
    StandardList {
        Underground = "underground": "金属非金属地下矿山重大事故隐患",
        OpenPit = "open_pit": "金属非金属露天矿山重大事故隐患",
        Tailings = "tailings": "尾矿库重大事故隐患",
    }
}

impl StandardList {
    /// The part's number in the standard (一、二、三).
    fn part(self) -> &'static str {
        match self {
            Self::Underground => "一",
            Self::OpenPit => "二",
            Self::Tailings => "三",
        }
    }

    fn letter(self) -> char {
        match self {
            Self::Underground => 'U',
            Self::OpenPit => 'O',
            Self::Tailings => 'T',
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Underground => 0,
            Self::OpenPit => 1,
            Self::Tailings => 2,
        }
    }

    /// The list a mine is judged by: tailings ponds by the third, other mines by their
    /// mining method.
    pub fn for_mine(mine_type: MineType, method: MiningMethod) -> Self {
        match (mine_type, method) {
            (MineType::TailingsPond, _) => Self::Tailings,
            (_, MiningMethod::Underground) => Self::Underground,
            (_, MiningMethod::OpenPit) => Self::OpenPit,
        }
    }
}

/// One numbered item or sub-item.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardEntry {
    /// U7-3, O8, T13-1: what a hazard's `standard_item` holds.
    pub code: String,
    /// The standard's own number: 一（七）3.
    pub number: String,
    pub text: String,
    /// The item a sub-item belongs to.
    pub parent: Option<String>,
    /// Whether a hazard may name it: an item without sub-items, or a sub-item.
    pub selectable: bool,
}

#[derive(Debug)]
pub struct Standard {
    pub document: String,
    pub title: String,
    pub effective: String,
    lists: [Vec<StandardEntry>; 3],
}

impl Standard {
    pub fn entries(&self, list: StandardList) -> &[StandardEntry] {
        &self.lists[list.index()]
    }

    /// A code (U7-3, any case) or the standard's number (一（七）3, 一(七)3) in `list`,
    /// when it names an entry a hazard may be judged by.
    pub fn leaf(&self, list: StandardList, given: &str) -> Option<&StandardEntry> {
        let given = normalise(given);
        self.entries(list)
            .iter()
            .filter(|e| e.selectable)
            .find(|e| e.code == given.to_uppercase() || normalise(&e.number) == given)
    }

    /// The entry a stored code names, whichever list it is in.
    pub fn by_code(&self, code: &str) -> Option<&StandardEntry> {
        let list = StandardList::ALL
            .iter()
            .copied()
            .find(|l| code.starts_with(l.letter()))?;
        self.entries(list).iter().find(|e| e.code == code)
    }
}

fn normalise(s: &str) -> String {
    s.trim()
        .replace(['（', '('], "(")
        .replace(['）', ')'], ")")
        .replace([' ', '.', '．', '、'], "")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    document: String,
    title: String,
    effective: String,
    underground: Vec<Item>,
    open_pit: Vec<Item>,
    tailings: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    text: String,
    #[serde(default)]
    sub: Vec<String>,
}

/// Chinese numerals as the standard numbers its items: 一 … 十 … 二十一 … 九十九.
pub fn numeral(n: usize) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0 => "〇".into(),
        1..=9 => DIGITS[n].into(),
        10..=19 => format!("十{}", DIGITS[n % 10]),
        20..=99 => format!("{}十{}", DIGITS[n / 10], DIGITS[n % 10]),
        _ => n.to_string(),
    }
}

fn entries(list: StandardList, items: Vec<Item>) -> Vec<StandardEntry> {
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let code = format!("{}{}", list.letter(), i + 1);
        let number = format!("{}（{}）", list.part(), numeral(i + 1));
        let selectable = item.sub.is_empty();
        out.push(StandardEntry {
            code: code.clone(),
            number: number.clone(),
            text: item.text,
            parent: None,
            selectable,
        });
        for (j, text) in item.sub.into_iter().enumerate() {
            out.push(StandardEntry {
                code: format!("{code}-{}", j + 1),
                number: format!("{number}{}", j + 1),
                text,
                parent: Some(code.clone()),
                selectable: true,
            });
        }
    }
    out
}

fn parse(source: &str) -> Result<Standard, toml::de::Error> {
    let f: File = toml::from_str(source)?;
    Ok(Standard {
        document: f.document,
        title: f.title,
        effective: f.effective,
        lists: [
            entries(StandardList::Underground, f.underground),
            entries(StandardList::OpenPit, f.open_pit),
            entries(StandardList::Tailings, f.tailings),
        ],
    })
}

static STANDARD: LazyLock<Standard> = LazyLock::new(|| {
    // The file is compiled in and held by the tests below: it cannot differ at run time.
    parse(SOURCE).expect("config/hazard-standard-2022.toml is checked by its unit test")
});

pub fn standard() -> &'static Standard {
    &STANDARD
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(list: StandardList) -> usize {
        standard()
            .entries(list)
            .iter()
            .filter(|e| e.parent.is_none())
            .count()
    }

    #[test]
    fn the_three_lists_hold_the_standards_64_situations() {
        assert_eq!(top(StandardList::Underground), 32);
        assert_eq!(top(StandardList::OpenPit), 13);
        assert_eq!(top(StandardList::Tailings), 19);
        let s = standard();
        assert_eq!(s.document, "矿安〔2022〕88号");
        assert_eq!(s.effective, "2022-09-01");
        for &list in StandardList::ALL {
            for e in s.entries(list) {
                assert!(!e.text.trim().is_empty(), "{} has no text", e.code);
                assert!(
                    !e.text.ends_with('。') && !e.text.ends_with('；'),
                    "{}",
                    e.code
                );
            }
        }
    }

    #[test]
    fn entries_carry_the_standards_numbers() {
        let s = standard();
        let e = s.leaf(StandardList::Underground, "u7-4").unwrap();
        assert_eq!(e.number, "一（七）4");
        assert!(e.text.contains("水仓"));
        assert_eq!(e.parent.as_deref(), Some("U7"));
        assert_eq!(
            s.leaf(StandardList::Underground, "一(七)4").unwrap().code,
            "U7-4"
        );
        assert_eq!(
            s.leaf(StandardList::Tailings, "三（十三）2").unwrap().code,
            "T13-2"
        );
        assert_eq!(s.by_code("O9").unwrap().number, "二（九）");
        assert_eq!(s.by_code("U32").unwrap().number, "一（三十二）");
    }

    #[test]
    fn a_heading_with_sub_items_or_another_lists_item_is_not_a_leaf() {
        let s = standard();
        assert!(s.leaf(StandardList::Underground, "U1").is_none());
        assert!(s.leaf(StandardList::Underground, "U2").is_some());
        assert!(s.leaf(StandardList::OpenPit, "U2").is_none());
        assert!(s.leaf(StandardList::OpenPit, "O14").is_none());
        assert!(s.leaf(StandardList::OpenPit, "").is_none());
        assert!(s.by_code("X1").is_none());
    }

    #[test]
    fn numerals() {
        let got: Vec<String> = [1, 9, 10, 11, 19, 20, 21, 32].map(numeral).into();
        assert_eq!(
            got,
            ["一", "九", "十", "十一", "十九", "二十", "二十一", "三十二"]
        );
    }

    #[test]
    fn the_list_follows_the_mine() {
        assert_eq!(
            StandardList::for_mine(MineType::TailingsPond, MiningMethod::OpenPit),
            StandardList::Tailings
        );
        let metal = MineType::ALL[0];
        assert_eq!(
            StandardList::for_mine(metal, MiningMethod::Underground),
            StandardList::Underground
        );
    }
}
