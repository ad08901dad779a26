//! Durations as people write them in configuration: "200ms", "90s", "15m", "1h", "2d", and
//! working days "5wd" counted on the holiday calendar.

use std::time::Duration;

/// A time limit: a fixed span, or a number of working days on the holiday calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Fixed(Duration),
    WorkingDays(u32),
}

pub fn parse_span(text: &str) -> Result<Span, String> {
    let t = text.trim();
    if let Some(n) = t.strip_suffix("wd") {
        let days: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("无法识别的工作日数 {text:?}"))?;
        return Ok(Span::WorkingDays(days));
    }
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("时长 {text:?} 缺少单位：请写成 90s、15m、1h、2d 或 5wd"))?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("无法识别的时长 {text:?}"))?;
    if unit.trim() == "ms" {
        return Ok(Span::Fixed(Duration::from_millis(n)));
    }
    let secs = match unit.trim() {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("时长 {text:?} 的单位只能是 ms、s、m、h、d 或 wd")),
    };
    Ok(Span::Fixed(Duration::from_secs(secs)))
}

/// A fixed duration; working days are refused where the calendar does not apply.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match parse_span(text)? {
        Span::Fixed(d) => Ok(d),
        Span::WorkingDays(_) => Err(format!(
            "此处不能使用工作日 {text:?}，请写成 90s、15m、1h 或 2d"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_span("5wd").unwrap(), Span::WorkingDays(5));
    }

    #[test]
    fn refuses_missing_or_unknown_units() {
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1wd").is_err());
    }
}
