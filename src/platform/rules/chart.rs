//! Charts drawn on the server as SVG: readable without JavaScript, printable, no CDN.
//! One horizontal bar chart (a figure per row, e.g. each department's rate) and one
//! column chart (a few series over periods, e.g. whistles raised and closed per week).
//! Every label is escaped here; the pages put the result in as it is.

/// Text safe inside SVG/XML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One bar: its label, its value (0 ≤ value ≤ `max`; `None` draws no bar) and the text
/// written beside it.
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    pub text: String,
}

/// A horizontal bar chart: one row per bar, values scaled to `max`; a dashed line marks
/// `target` when given.
pub fn bars(title: &str, rows: &[Bar], max: f64, target: Option<f64>) -> String {
    let (label_w, bar_w, row_h, top) = (150.0, 320.0, 26.0, 34.0);
    let width = label_w + bar_w + 90.0;
    let height = top + rows.len() as f64 * row_h + 10.0;
    let max = if max > 0.0 { max } else { 1.0 };
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{t}"><title>{t}</title><text x="0" y="18" font-size="15" font-weight="bold" fill="#1d2430">{t}</text>"##,
        t = escape(title)
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        out.push_str(&format!(
            r##"<text x="{x}" y="{ty}" font-size="13" text-anchor="end" fill="#1d2430">{l}</text>"##,
            x = label_w - 8.0,
            ty = y + 15.0,
            l = escape(&r.label)
        ));
        out.push_str(&format!(
            r##"<rect x="{label_w}" y="{y}" width="{bar_w}" height="18" fill="#eef2f6"/>"##
        ));
        if let Some(v) = r.value.filter(|v| v.is_finite()) {
            let w = (v.clamp(0.0, max) / max) * bar_w;
            // Below the target in orange, so that who falls short is seen at a glance.
            let fill = if target.is_some_and(|t| v < t) {
                "#e07000"
            } else {
                "#17456b"
            };
            out.push_str(&format!(
                r##"<rect x="{label_w}" y="{y}" width="{w:.1}" height="18" fill="{fill}"/>"##
            ));
        }
        out.push_str(&format!(
            r##"<text x="{x}" y="{ty}" font-size="13" fill="#4a5561">{t}</text>"##,
            x = label_w + bar_w + 6.0,
            ty = y + 15.0,
            t = escape(&r.text)
        ));
    }
    if let Some(t) = target.filter(|t| t.is_finite() && *t > 0.0 && *t <= max) {
        let x = label_w + t / max * bar_w;
        out.push_str(&format!(
            r##"<line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{y1}" stroke="#c62828" stroke-dasharray="4 3"/>"##,
            y0 = top - 4.0,
            y1 = height - 6.0
        ));
        out.push_str(&format!(
            r##"<text x="{x}" y="18" font-size="12" text-anchor="end" fill="#c62828">虚线为目标 {t}，未达到的显示为橙色</text>"##,
            x = width - 4.0,
            t = escape(&format!("{}%", (t * 10.0).round() / 10.0))
        ));
    }
    out.push_str("</svg>");
    out
}

/// One series of a column chart: its name, colour and a value per period.
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub values: Vec<i64>,
}

/// A column chart: for each period (labels below) one column per series, side by side,
/// with a legend and the largest value on the axis.
pub fn columns(title: &str, periods: &[String], series: &[Series]) -> String {
    let (left, top, plot_h, group_w) = (40.0, 46.0, 160.0, 44.0);
    let n = periods.len().max(1) as f64;
    let width = left + n * group_w + 20.0;
    let height = top + plot_h + 44.0;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{t}"><title>{t}</title><text x="0" y="18" font-size="15" font-weight="bold" fill="#1d2430">{t}</text>"##,
        t = escape(title)
    );
    let mut lx = 0.0;
    for s in series {
        out.push_str(&format!(
            r##"<rect x="{lx}" y="26" width="10" height="10" fill="{c}"/><text x="{tx}" y="35" font-size="12" fill="#4a5561">{n}</text>"##,
            c = s.colour,
            tx = lx + 14.0,
            n = escape(&s.name)
        ));
        lx += 14.0 + 13.0 * s.name.chars().count() as f64 + 16.0;
    }
    let base = top + plot_h;
    out.push_str(&format!(
        r##"<line x1="{left}" y1="{base}" x2="{x2}" y2="{base}" stroke="#b8c2cc"/><text x="{tx}" y="{ty}" font-size="11" text-anchor="end" fill="#6b7785">{max}</text>"##,
        x2 = width - 10.0,
        tx = left - 4.0,
        ty = top + 10.0,
        max = max as i64
    ));
    let k = series.len().max(1) as f64;
    let col_w = (group_w - 8.0) / k;
    for (i, p) in periods.iter().enumerate() {
        let gx = left + i as f64 * group_w + 4.0;
        for (j, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0).max(0) as f64;
            let h = v / max * plot_h;
            out.push_str(&format!(
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{p} {n}：{v}</title></rect>"##,
                x = gx + j as f64 * col_w,
                y = base - h,
                w = col_w - 1.0,
                c = s.colour,
                p = escape(p),
                n = escape(&s.name),
                v = v as i64
            ));
        }
        out.push_str(&format!(
            r##"<text x="{x:.1}" y="{y}" font-size="11" text-anchor="middle" fill="#4a5561">{p}</text>"##,
            x = gx + (group_w - 8.0) / 2.0,
            y = base + 16.0,
            p = escape(p)
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_maximum_and_escape_labels() {
        let svg = bars(
            "报到及时率",
            &[
                Bar {
                    label: "甲<局>".into(),
                    value: Some(0.5),
                    text: "50%".into(),
                },
                Bar {
                    label: "乙".into(),
                    value: None,
                    text: "—".into(),
                },
                Bar {
                    label: "丙".into(),
                    value: Some(2.0),
                    text: "200%".into(),
                },
            ],
            1.0,
            Some(0.9),
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("甲&lt;局&gt;") && !svg.contains("甲<局>"));
        assert!(svg.contains(r##"width="160.0""##), "half of 320: {svg}");
        assert!(svg.contains(r##"width="320.0""##), "clamped to the maximum");
        assert!(svg.contains("stroke-dasharray"), "the target line");
    }

    #[test]
    fn columns_have_a_column_per_series_and_period() {
        let svg = columns(
            "每周吹哨与办结",
            &["12-01".into(), "12-08".into()],
            &[
                Series {
                    name: "吹哨".into(),
                    colour: "#17456b",
                    values: vec![4, 2],
                },
                Series {
                    name: "办结".into(),
                    colour: "#2e7d32",
                    values: vec![1, 0],
                },
            ],
        );
        assert_eq!(
            svg.matches("<rect x=").count(),
            2 + 4,
            "two legend swatches, four columns"
        );
        assert!(svg.contains("12-08 吹哨：2"));
        let empty = columns("空", &[], &[]);
        assert!(empty.ends_with("</svg>"), "no data, no panic");
    }
}
