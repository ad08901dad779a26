//! The district map's drawing: what `desk::map` found, turned into coloured areas and
//! points once, then drawn as SVG on the page (print, no JavaScript) and served as GeoJSON
//! to the web map (pan and zoom, optional base tiles) and to other systems.

use crate::leads::rules::LeadState;
use crate::platform::rules::map::{Area, Point};
use crate::register::rules::boundary::Zone;
use crate::register::rules::mine::MineStatus;

use super::MapData;

pub struct Drawing {
    pub areas: Vec<Area>,
    pub points: Vec<Point>,
    /// (colour, what it means, how many), in the order first met.
    pub legend: Vec<(&'static str, String, usize)>,
}

/// Mines coloured by risk grade (closed mines and illegal sites grey and black, dashed),
/// prohibited zones green, open leads by state (red waiting to be reported in, orange
/// being verified, blue afterwards); each a link to its page.
pub fn drawing(data: &MapData, zone: Zone) -> Drawing {
    let mut areas = Vec::new();
    let mut legend: Vec<(&'static str, String, usize)> = Vec::new();
    let mut tally = |colour: &'static str, what: String| match legend
        .iter_mut()
        .find(|(c, w, _)| *c == colour && *w == what)
    {
        Some(l) => l.2 += 1,
        None => legend.push((colour, what, 1)),
    };
    for z in &data.zones {
        if let Ok(r) = z.rings() {
            tally("#2e7d32", "禁止开采区".into());
            areas.push(Area {
                rings: r.0,
                fill: "#2e7d32",
                stroke: "#2e7d32",
                dashed: false,
                label: format!("禁止开采区：{}", z.name),
                href: "/prohibited-zones".into(),
            });
        }
    }
    for m in &data.mines {
        let Ok(r) = m.boundary.rings() else { continue };
        let (colour, what, dashed) = match (m.status, m.risk_grade) {
            (MineStatus::IllegalSite, _) => ("#000000", "非法开采点".to_owned(), true),
            (MineStatus::Closed, _) => ("#777777", "已关闭".to_owned(), true),
            (_, Some(g)) => (g.colour_hex(), g.display(), false),
            (_, None) => ("#5b6b7a", "未定级".to_owned(), false),
        };
        tally(colour, what.clone());
        areas.push(Area {
            rings: r.0,
            fill: colour,
            stroke: colour,
            dashed,
            label: format!("{}（{what}）", m.name),
            href: format!("/mines/{}", m.mine_id),
        });
    }
    let mut points = Vec::new();
    let projection = zone.projection();
    for l in &data.leads {
        let (Some(lon), Some(lat)) = (l.lon, l.lat) else {
            continue;
        };
        let Ok((x, y)) = projection.from_lonlat(lon, lat) else {
            continue;
        };
        let colour = match l.state {
            LeadState::Routed => "#c62828",
            LeadState::Acknowledged | LeadState::Verifying => "#e07000",
            _ => "#1565c0",
        };
        tally(colour, format!("线索：{}", l.state.label()));
        points.push(Point {
            x,
            y,
            colour,
            label: format!("{} {}（{}）", l.number, l.title, l.state.label()),
            href: format!("/leads/{}", l.id),
        });
    }
    Drawing {
        areas,
        points,
        legend,
    }
}

/// The drawing as GeoJSON text in CGCS2000 longitude / latitude.
pub fn geojson(d: &Drawing, zone: Zone) -> String {
    let projection = zone.projection();
    crate::platform::rules::map::geojson(&d.areas, &d.points, |x, y| {
        projection.to_lonlat(x, y).ok()
    })
}
