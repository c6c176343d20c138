//! Values that govern listing: how many payments a page holds.

use std::fmt;
use std::str::FromStr;

/// How many payments one list page holds: 1 to 100, 20 unless asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

impl PageSize {
    pub const DEFAULT: PageSize = PageSize(20);
    pub const MAX: u16 = 100;

    pub fn get(&self) -> usize {
        usize::from(self.0)
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl FromStr for PageSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<u16>() {
            Ok(n) if (1..=Self::MAX).contains(&n) && !text.starts_with('+') => Ok(Self(n)),
            _ => Err(format!("limit must be an integer from 1 to {}", Self::MAX)),
        }
    }
}

impl fmt::Display for PageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_between_1_and_100() {
        assert_eq!("1".parse::<PageSize>().unwrap().get(), 1);
        assert_eq!("100".parse::<PageSize>().unwrap().get(), 100);
        for bad in ["0", "101", "-1", "ten", "", "+5", "5.0", "99999999999"] {
            assert!(bad.parse::<PageSize>().is_err(), "{bad}");
        }
        assert_eq!(PageSize::default().get(), 20);
    }
}
