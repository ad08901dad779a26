//! The district map drawn on the server as SVG (north up, a scale bar, no tiles and no
//! CDN): areas (mining-right boundaries, prohibited zones) and points (leads), each a link
//! to its page with its name as a tooltip. Coordinates are projected metres (CGCS2000
//! Gauss-Krüger): easting `x`, northing `y`.

use super::chart::escape;

pub struct Area {
    /// Rings of `[x, y]`, the first of each polygon its outline.
    pub rings: Vec<Vec<[f64; 2]>>,
    pub fill: &'static str,
    pub stroke: &'static str,
    /// Drawn dashed (closed mines, illegal sites).
    pub dashed: bool,
    pub label: String,
    /// The page the area links to; empty for none.
    pub href: String,
}

pub struct Point {
    pub x: f64,
    pub y: f64,
    pub colour: &'static str,
    pub label: String,
    pub href: String,
}

/// The map of `areas` and `points`, `width_px` wide; empty when there is nothing to draw.
pub fn district(areas: &[Area], points: &[Point], width_px: f64) -> String {
    let mut b: Option<[f64; 4]> = None;
    let mut grow = |x: f64, y: f64| {
        if !(x.is_finite() && y.is_finite()) {
            return;
        }
        b = Some(match b {
            None => [x, y, x, y],
            Some(o) => [o[0].min(x), o[1].min(y), o[2].max(x), o[3].max(y)],
        });
    };
    for a in areas {
        for ring in &a.rings {
            for p in ring {
                grow(p[0], p[1]);
            }
        }
    }
    for p in points {
        grow(p.x, p.y);
    }
    let Some(b) = b else {
        return String::new();
    };
    let pad = ((b[2] - b[0]).max(b[3] - b[1]) * 0.05).max(200.0);
    let (x0, y0, w, h) = (
        b[0] - pad,
        b[1] - pad,
        b[2] - b[0] + 2.0 * pad,
        b[3] - b[1] + 2.0 * pad,
    );
    let height_px = (width_px * h / w).clamp(240.0, 1200.0);
    let unit = w / width_px; // metres per pixel
                             // The origin in data attributes lets a page turn a click into projected metres.
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {w:.1} {h:.1}" data-x0="{x0:.3}" data-y0="{y0:.3}" data-h="{h:.3}" width="100%" height="{height_px:.0}" preserveAspectRatio="xMidYMid meet" role="img" aria-label="辖区地图" style="background:#f8faf7;border:1px solid #ccd">"##
    );
    for a in areas {
        let d: String = a
            .rings
            .iter()
            .filter(|r| r.len() >= 3)
            .map(|r| {
                let pts: Vec<String> = r
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", p[0] - x0, h - (p[1] - y0)))
                    .collect();
                format!("M{}Z", pts.join("L"))
            })
            .collect();
        if d.is_empty() {
            continue;
        }
        let dash = if a.dashed {
            format!(r#" stroke-dasharray="{:.1} {:.1}""#, unit * 5.0, unit * 3.0)
        } else {
            String::new()
        };
        let shape = format!(
            r#"<path d="{d}" fill="{}" fill-opacity="0.35" stroke="{}" stroke-width="{:.1}"{dash} fill-rule="evenodd"><title>{}</title></path>"#,
            a.fill,
            a.stroke,
            unit * 1.5,
            escape(&a.label)
        );
        if a.href.is_empty() {
            out.push_str(&shape);
        } else {
            out.push_str(&format!(r#"<a href="{}">{shape}</a>"#, escape(&a.href)));
        }
    }
    for p in points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()) {
        let dot = format!(
            r##"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="{}" stroke="#fff" stroke-width="{:.1}"><title>{}</title></circle>"##,
            p.x - x0,
            h - (p.y - y0),
            unit * 6.0,
            p.colour,
            unit * 1.5,
            escape(&p.label)
        );
        if p.href.is_empty() {
            out.push_str(&dot);
        } else {
            out.push_str(&format!(r#"<a href="{}">{dot}</a>"#, escape(&p.href)));
        }
    }
    // Scale bar: a round length near a fifth of the width.
    let target = w / 5.0;
    let magnitude = 10f64.powf(target.log10().floor());
    let len = [10.0, 5.0, 2.0, 1.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|l| *l <= target)
        .unwrap_or(magnitude);
    let (sx, sy) = (unit * 12.0, h - unit * 14.0);
    let label = if len >= 1000.0 {
        format!("{} 公里", len / 1000.0)
    } else {
        format!("{len} 米")
    };
    out.push_str(&format!(
        r##"<line x1="{sx:.1}" y1="{sy:.1}" x2="{:.1}" y2="{sy:.1}" stroke="#333" stroke-width="{:.1}"/><text x="{sx:.1}" y="{:.1}" font-size="{:.1}" fill="#333">{label}　↑北</text>"##,
        sx + len,
        unit * 3.0,
        sy - unit * 5.0,
        unit * 13.0
    ));
    out.push_str("</svg>");
    out
}

/// The same areas and points as a GeoJSON FeatureCollection in longitude / latitude, as
/// text (`to_lonlat` turns projected metres into degrees; a point it cannot turn is left
/// out). Each feature carries `label`, `href`, `colour` and `dashed` for the web map.
/// Written straight from borrowed parts: a tree of `serde_json::Value`s for a district's
/// 3 000 boundaries cost more in allocating and freeing than everything else in the map.
pub fn geojson(
    areas: &[Area],
    points: &[Point],
    to_lonlat: impl Fn(f64, f64) -> Option<(f64, f64)>,
) -> String {
    let at = |x: f64, y: f64| {
        to_lonlat(x, y).map(|(lon, lat)| [(lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7])
    };
    let mut features = Vec::with_capacity(areas.len() + points.len());
    for a in areas {
        let polygons: Vec<[Vec<[f64; 2]>; 1]> = a
            .rings
            .iter()
            .filter(|r| r.len() >= 3)
            .filter_map(|r| Some([r.iter().map(|p| at(p[0], p[1])).collect::<Option<_>>()?]))
            .collect();
        if polygons.is_empty() {
            continue;
        }
        features.push(Feature {
            kind: "Feature",
            geometry: Geometry::MultiPolygon(polygons),
            properties: Properties {
                label: &a.label,
                href: &a.href,
                colour: a.fill,
                dashed: a.dashed,
            },
        });
    }
    for p in points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()) {
        let Some(c) = at(p.x, p.y) else { continue };
        features.push(Feature {
            kind: "Feature",
            geometry: Geometry::Point(c),
            properties: Properties {
                label: &p.label,
                href: &p.href,
                colour: p.colour,
                dashed: false,
            },
        });
    }
    serde_json::to_string(&Collection {
        kind: "FeatureCollection",
        features,
    })
    .unwrap_or_else(|_| r#"{"type":"FeatureCollection","features":[]}"#.to_owned())
}

#[derive(serde::Serialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<Feature<'a>>,
}

#[derive(serde::Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: Geometry,
    properties: Properties<'a>,
}

/// Polygons of one ring each (boundaries have no holes), or a point.
#[derive(serde::Serialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    MultiPolygon(Vec<[Vec<[f64; 2]>; 1]>),
    Point([f64; 2]),
}

#[derive(serde::Serialize)]
struct Properties<'a> {
    label: &'a str,
    href: &'a str,
    colour: &'a str,
    dashed: bool,
}

/// GeoJSON text to embed in a page's `<script type="application/json">`: no `<` that
/// could end the script element early (`\u003c` reads back as the same text).
pub fn embeddable(geojson: &str) -> String {
    geojson.replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_and_points_are_links_with_escaped_names() {
        let square = vec![vec![
            [0.0, 0.0],
            [1000.0, 0.0],
            [1000.0, 1000.0],
            [0.0, 1000.0],
        ]];
        let svg = district(
            &[Area {
                rings: square,
                fill: "#fdd",
                stroke: "#c62828",
                dashed: true,
                label: "甲<矿>".into(),
                href: "/mines/1".into(),
            }],
            &[Point {
                x: 500.0,
                y: 500.0,
                colour: "#17456b",
                label: "XS-1".into(),
                href: "/leads/1".into(),
            }],
            800.0,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"<a href="/mines/1"><path"#) && svg.contains("stroke-dasharray"));
        assert!(svg.contains(r#"<a href="/leads/1"><circle"#));
        assert!(svg.contains("甲&lt;矿&gt;"));
        assert!(svg.contains("↑北"));
    }

    #[test]
    fn geojson_carries_each_area_and_point_in_degrees() {
        let area = Area {
            rings: vec![
                vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]],
                vec![[1.0, 1.0]],
            ],
            fill: "#c62828",
            stroke: "#c62828",
            dashed: true,
            label: "甲</script>矿".into(),
            href: "/mines/1".into(),
        };
        let point = Point {
            x: 5.0,
            y: 5.0,
            colour: "#1565c0",
            label: "XS-1".into(),
            href: "/leads/1".into(),
        };
        let gone = Point {
            x: -1.0,
            y: 5.0,
            colour: "#000",
            label: String::new(),
            href: String::new(),
        };
        let text = geojson(&[area], &[point, gone], |x, y| {
            (x >= 0.0).then(|| (100.0 + x / 100.0, 40.0 + y / 100.0))
        });
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "FeatureCollection");
        let f = v["features"].as_array().unwrap();
        assert_eq!(f.len(), 2, "{v}");
        assert_eq!(f[0]["geometry"]["type"], "MultiPolygon");
        assert_eq!(
            f[0]["geometry"]["coordinates"].as_array().unwrap().len(),
            1,
            "a ring of one point is not drawn"
        );
        assert_eq!(
            f[0]["geometry"]["coordinates"][0][0][1],
            serde_json::json!([100.1, 40.0])
        );
        assert_eq!(f[0]["properties"]["dashed"], true);
        assert_eq!(
            f[1]["geometry"]["coordinates"],
            serde_json::json!([100.05, 40.05])
        );
        assert_eq!(f[1]["properties"]["href"], "/leads/1");
        let text = embeddable(&text);
        assert!(!text.contains('<') && text.contains("\\u003c/script>"));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn nothing_to_draw_is_no_map() {
        assert!(district(&[], &[], 800.0).is_empty());
        let nan = Point {
            x: f64::NAN,
            y: 0.0,
            colour: "#000",
            label: String::new(),
            href: String::new(),
        };
        assert!(district(&[], &[nan], 800.0).is_empty());
    }
}
