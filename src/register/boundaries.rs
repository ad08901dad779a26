//! Mining-right boundaries and prohibited zones, and the checks the district rules ask
//! for (制度二(二)): no overlap of vertical projections with a licensed mine, a minimum
//! distance between adjacent working areas, no mining right inside a prohibited zone.

use chrono::{NaiveDate, NaiveDateTime};
use geo::MultiPolygon;
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::clock::shanghai_date;
use crate::platform::config::GeoSettings;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::register::rules::boundary::{self, Rings, Zone};
use crate::register::rules::mine::MineStatus;
use crate::register::store::boundaries as store;
pub use crate::register::store::boundaries::{MineBoundary, ProhibitedZone};

impl MineBoundary {
    pub fn rings(&self) -> AppResult<Rings> {
        serde_json::from_str::<Vec<Vec<[f64; 2]>>>(&self.rings_json)
            .map(Rings)
            .map_err(AppError::internal)
    }
}

/// A boundary as the API shows it: projected and geographic rings, area, elevation range.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BoundaryView {
    /// CGCS2000 3-degree Gauss-Krüger zone of the coordinates.
    pub zone: u32,
    /// Rings of [easting, northing] in metres, zone number not included.
    pub rings_projected: Vec<Vec<[f64; 2]>>,
    /// The same rings as [longitude, latitude] in degrees.
    pub rings_lonlat: Vec<Vec<[f64; 2]>>,
    pub area_m2: f64,
    /// 面积（平方公里）, to 4 decimals as on a licence.
    pub area_km2: f64,
    pub elevation_top_m: Option<f64>,
    pub elevation_bottom_m: Option<f64>,
    /// The corner-point list as entered, kept for the record.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overlap {
    pub mine_id: String,
    pub mine_name: String,
    pub area_m2: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TooClose {
    pub mine_id: String,
    pub mine_name: String,
    pub distance_m: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InZone {
    pub zone_id: String,
    pub zone_name: String,
    pub kind: String,
    pub area_m2: f64,
}

/// What the checks found; empty lists mean the boundary complies.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct BoundaryChecks {
    /// Overlaps with mines holding a valid mining licence (垂直投影重叠).
    pub overlaps: Vec<Overlap>,
    /// Neighbours closer than the minimum safety distance.
    pub too_close: Vec<TooClose>,
    /// The minimum distance checked, in metres.
    pub min_distance_m: f64,
    /// Intersections with prohibited zones (禁止开采区).
    pub prohibited_zones: Vec<InZone>,
}

impl BoundaryChecks {
    pub fn is_clear(&self) -> bool {
        self.overlaps.is_empty() && self.too_close.is_empty() && self.prohibited_zones.is_empty()
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoundaryInput {
    /// The corner-point list as printed on the licence: `点号 X Y` per line, X northing,
    /// Y easting with or without the zone number; blocks separated by a blank line or `*`.
    pub corner_points: Option<String>,
    /// Or a GeoJSON Polygon / MultiPolygon / Feature in longitude / latitude.
    #[schema(value_type = Option<Object>)]
    pub geojson: Option<serde_json::Value>,
    /// 开采深度 from (top) … to (bottom), elevation in metres.
    pub elevation_top: Option<f64>,
    pub elevation_bottom: Option<f64>,
    /// Why the boundary is set or changed (e.g. 新立、延续、变更).
    #[serde(default)]
    pub reason: String,
}

pub fn zone(settings: &GeoSettings) -> Zone {
    Zone {
        number: settings.zone,
    }
}

/// Parses and validates boundary input into rings and the stored source text.
pub fn parse_input(
    input: &BoundaryInput,
    z: Zone,
) -> Result<(Rings, MultiPolygon<f64>, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let parsed = match (
        input
            .corner_points
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        &input.geojson,
    ) {
        (Some(_), Some(_)) => Err(FieldError::new(
            "corner_points",
            "拐点坐标和 GeoJSON 只能提供一种",
        )),
        (None, None) => Err(FieldError::new(
            "corner_points",
            "请粘贴采矿许可证上的拐点坐标（或提供 GeoJSON）",
        )),
        (Some(text), None) => boundary::parse_corner_points(text, z)
            .map(|r| (r, text.to_owned()))
            .map_err(|m| FieldError::new("corner_points", m)),
        (None, Some(gj)) => boundary::parse_geojson(gj, z)
            .map(|r| (r, gj.to_string()))
            .map_err(|m| FieldError::new("geojson", m)),
    };
    let result = parsed.and_then(|(rings, source)| {
        let field = if input.geojson.is_some() {
            "geojson"
        } else {
            "corner_points"
        };
        rings
            .validate()
            .map(|mp| (rings, mp, source))
            .map_err(|m| FieldError::new(field, m))
    });
    match (input.elevation_top, input.elevation_bottom) {
        (Some(t), Some(b)) if b >= t => errors.push(FieldError::new(
            "elevation_bottom",
            "开采深度下限标高应低于上限标高",
        )),
        (Some(v), _) | (_, Some(v)) if !(-3000.0..=9000.0).contains(&v) => errors.push(
            FieldError::new("elevation_top", "标高应在 -3000 到 9000 米之间"),
        ),
        _ => {}
    }
    match result {
        Ok(ok) if errors.is_empty() => Ok(ok),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.insert(0, e);
            Err(errors)
        }
    }
}

/// A mine whose recorded boundary contains a point.
#[derive(Debug, Clone)]
pub struct MineAtPoint {
    pub mine_id: String,
    pub name: String,
    pub township: String,
    /// Holds a valid mining licence today.
    pub licensed: bool,
}

/// The mines (not closed) whose boundary contains the point given in longitude and latitude.
pub fn mines_at(
    conn: &mut DbConnection,
    lon: f64,
    lat: f64,
    today: NaiveDate,
    settings: &GeoSettings,
) -> AppResult<Vec<MineAtPoint>> {
    let (e, n) = zone(settings)
        .from_lonlat(lon, lat)
        .map_err(|m| AppError::field("location", m))?;
    let candidates = store::near(conn, [e, n, e, n], None, true, None)?;
    let mut inside = Vec::new();
    for c in candidates {
        if boundary::contains_point(&c.boundary.rings()?.to_multipolygon(), e, n) {
            inside.push(MineAtPoint {
                mine_id: c.mine_id,
                name: c.name,
                township: c.township,
                licensed: false,
            });
        }
    }
    let ids: Vec<String> = inside.iter().map(|m| m.mine_id.clone()).collect();
    let licensed = crate::register::store::permits::with_valid_licence(conn, &ids, today)?;
    for m in &mut inside {
        m.licensed = licensed.contains(&m.mine_id);
    }
    Ok(inside)
}

/// `(mine id, name)` of the closed mines whose former boundary contains the point (the
/// watch on illegal restart): the box index, then the polygon.
pub fn closed_at(
    conn: &mut DbConnection,
    lon: f64,
    lat: f64,
    settings: &GeoSettings,
) -> AppResult<Vec<(String, String)>> {
    let Ok((e, n)) = zone(settings).from_lonlat(lon, lat) else {
        return Ok(Vec::new());
    };
    let mut inside = Vec::new();
    for c in store::closed_near(conn, [e, n, e, n], 50)? {
        if boundary::contains_point(&c.boundary.rings()?.to_multipolygon(), e, n) {
            inside.push((c.mine_id, c.name));
        }
    }
    Ok(inside)
}

/// Runs the three checks for a boundary of `mine_id` (which is excluded from its own checks).
pub fn check(
    conn: &mut DbConnection,
    mine_id: &str,
    mp: &MultiPolygon<f64>,
    today: NaiveDate,
    settings: &GeoSettings,
) -> AppResult<BoundaryChecks> {
    let Some([x0, y0, x1, y1]) = boundary::bbox(mp) else {
        return Ok(BoundaryChecks::default());
    };
    let d = settings.min_distance_m;
    let neighbours = store::near(
        conn,
        [x0 - d, y0 - d, x1 + d, y1 + d],
        Some(mine_id),
        true,
        None,
    )?;
    // Which neighbours hold a valid mining licence today (one query for all of them).
    let ids: Vec<String> = neighbours.iter().map(|n| n.mine_id.clone()).collect();
    let licensed = crate::register::store::permits::with_valid_licence(conn, &ids, today)?;
    let mut checks = BoundaryChecks {
        min_distance_m: d,
        ..Default::default()
    };
    for store::Nearby {
        boundary: b,
        mine_id: id,
        name,
        ..
    } in neighbours
    {
        let other = b.rings()?.to_multipolygon();
        let overlap = boundary::overlap_m2(mp, &other);
        if overlap > 1.0 {
            if licensed.contains(&id) {
                checks.overlaps.push(Overlap {
                    mine_id: id,
                    mine_name: name,
                    area_m2: (overlap * 100.0).round() / 100.0,
                });
            } else {
                checks.too_close.push(TooClose {
                    mine_id: id,
                    mine_name: name,
                    distance_m: 0.0,
                });
            }
            continue;
        }
        let distance = boundary::distance_m(mp, &other);
        if distance < d {
            checks.too_close.push(TooClose {
                mine_id: id,
                mine_name: name,
                distance_m: (distance * 100.0).round() / 100.0,
            });
        }
    }
    let zones = store::zones_near(conn, [x0, y0, x1, y1], None)?;
    for z in zones {
        let area = boundary::overlap_m2(mp, &z.rings()?.to_multipolygon());
        if area > 1.0 {
            checks.prohibited_zones.push(InZone {
                zone_id: z.id,
                zone_name: z.name,
                kind: z.kind,
                area_m2: (area * 100.0).round() / 100.0,
            });
        }
    }
    Ok(checks)
}

pub fn find(conn: &mut DbConnection, mine_id: &str) -> AppResult<Option<MineBoundary>> {
    store::find(conn, mine_id)
}

pub fn view(b: &MineBoundary, z: Zone) -> AppResult<BoundaryView> {
    let rings = b.rings()?;
    Ok(BoundaryView {
        zone: z.number,
        rings_lonlat: rings.to_lonlat(z).map_err(AppError::internal)?,
        rings_projected: rings.0,
        area_m2: (b.area_m2 * 100.0).round() / 100.0,
        area_km2: (b.area_m2 / 1e6 * 10_000.0).round() / 10_000.0,
        elevation_top_m: b.elevation_top_m,
        elevation_bottom_m: b.elevation_bottom_m,
        source: b.source.clone(),
    })
}

/// Sets (or replaces) a mine's boundary, records why, and returns what the checks found.
/// The checks inform; they do not block, since an existing overlap must still be recorded
/// to be dealt with.
pub fn set(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    mine_id: &str,
    input: BoundaryInput,
    settings: &GeoSettings,
) -> AppResult<(MineBoundary, BoundaryChecks)> {
    let mine = crate::register::mines::find(conn, mine_id)?;
    let z = zone(settings);
    let (rings, mp, source) = parse_input(&input, z).map_err(AppError::Validation)?;
    let reason = if input.reason.trim().is_empty() {
        "登记矿区范围".to_owned()
    } else {
        input.reason.trim().to_owned()
    };
    let [min_x, min_y, max_x, max_y] =
        boundary::bbox(&mp).ok_or_else(|| AppError::field("corner_points", "范围为空"))?;
    let row = MineBoundary {
        mine_id: mine.id.clone(),
        rings_json: serde_json::to_string(&rings.0).map_err(AppError::internal)?,
        source,
        area_m2: boundary::area_m2(&mp),
        min_x,
        min_y,
        max_x,
        max_y,
        elevation_top_m: input.elevation_top,
        elevation_bottom_m: input.elevation_bottom,
        updated_at: now,
    };
    let before = find(conn, mine_id)?;
    match &before {
        None => {
            store::insert(conn, &row)?;
            if mine.status() == MineStatus::Closed {
                store::mark_closed(conn, &mine.id, true)?;
            }
        }
        Some(_) => store::replace(conn, &row)?,
    }
    let summary = |b: &MineBoundary| serde_json::json!({"rings": serde_json::from_str::<serde_json::Value>(&b.rings_json).unwrap_or_default(), "area_m2": b.area_m2, "elevation_top_m": b.elevation_top_m, "elevation_bottom_m": b.elevation_bottom_m});
    crate::register::store::mines::insert_change(
        conn,
        actor,
        now,
        mine_id,
        crate::register::store::mines::Recorded::new(
            "boundary",
            before
                .as_ref()
                .map(|b| format!("{:.4} 平方公里", b.area_m2 / 1e6)),
            Some(format!("{:.4} 平方公里", row.area_m2 / 1e6)),
            &reason,
        ),
    )?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "mine",
            entity_id: mine_id,
            action: "boundary",
            before: before.as_ref().map(summary),
            after: Some(summary(&row)),
        },
    )?;
    let checks = check(conn, mine_id, &mp, shanghai_date(now), settings)?;
    Ok((row, checks))
}

/// Named shapes for a drawing.
pub type Named = Vec<(String, MultiPolygon<f64>)>;

/// The boundaries near a mine (for the drawing), with the mines' names, and nearby zones.
pub fn neighbours_for_drawing(
    conn: &mut DbConnection,
    b: &MineBoundary,
    margin: f64,
) -> AppResult<(Named, Named)> {
    let bbox = [
        b.min_x - margin,
        b.min_y - margin,
        b.max_x + margin,
        b.max_y + margin,
    ];
    let mines = store::near(conn, bbox, Some(&b.mine_id), false, Some(50))?;
    let zones = store::zones_near(conn, bbox, Some(20))?;
    let mut m = Vec::new();
    for nb in mines {
        m.push((nb.name, nb.boundary.rings()?.to_multipolygon()));
    }
    let mut z = Vec::new();
    for zone in zones {
        z.push((zone.name.clone(), zone.rings()?.to_multipolygon()));
    }
    Ok((m, z))
}

// ---- prohibited zones -------------------------------------------------------------------

impl ProhibitedZone {
    pub fn rings(&self) -> AppResult<Rings> {
        serde_json::from_str::<Vec<Vec<[f64; 2]>>>(&self.rings_json)
            .map(Rings)
            .map_err(AppError::internal)
    }
}

/// Kinds of prohibited zone (禁止开采区).
pub const ZONE_KINDS: [(&str, &str); 6] = [
    ("nature_reserve", "自然保护区"),
    ("protected_forest", "一级保护林地"),
    ("basic_grassland", "基本草原"),
    ("ecological_redline", "生态保护红线"),
    ("river_no_mining", "河道禁采区"),
    ("other", "其他禁止开采区"),
];

pub fn zone_kind_label(code: &str) -> &str {
    ZONE_KINDS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| *l)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ZoneView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub kind_label: String,
    pub area_m2: f64,
    pub active: bool,
    pub rings_projected: Vec<Vec<[f64; 2]>>,
    pub rings_lonlat: Vec<Vec<[f64; 2]>>,
}

impl ProhibitedZone {
    pub fn view(&self, z: Zone) -> AppResult<ZoneView> {
        let rings = self.rings()?;
        Ok(ZoneView {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            kind_label: zone_kind_label(&self.kind).to_owned(),
            area_m2: (self.area_m2 * 100.0).round() / 100.0,
            active: self.active != 0,
            rings_lonlat: rings.to_lonlat(z).map_err(AppError::internal)?,
            rings_projected: rings.0,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneInput {
    pub name: Option<String>,
    /// nature_reserve | protected_forest | basic_grassland | ecological_redline | river_no_mining | other
    pub kind: Option<String>,
    pub corner_points: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub geojson: Option<serde_json::Value>,
    /// false to deactivate (zones are never deleted).
    pub active: Option<bool>,
}

pub fn create_zone(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: ZoneInput,
    settings: &GeoSettings,
) -> AppResult<ProhibitedZone> {
    let mut errors = Vec::new();
    let name = input.name.clone().unwrap_or_default().trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            "请填写禁止开采区名称（不超过 100 个字符）",
        ));
    }
    let kind = input.kind.clone().unwrap_or_default();
    if !ZONE_KINDS.iter().any(|(c, _)| *c == kind) {
        errors.push(FieldError::new("kind", "类型只能是 nature_reserve、protected_forest、basic_grassland、ecological_redline、river_no_mining 或 other"));
    }
    let shape = BoundaryInput {
        corner_points: input.corner_points.clone(),
        geojson: input.geojson.clone(),
        ..Default::default()
    };
    let parsed = parse_input(&shape, zone(settings));
    let (rings, mp, source) = match parsed {
        Ok(p) if errors.is_empty() => p,
        Ok(_) => return Err(AppError::Validation(errors)),
        Err(mut e) => {
            errors.append(&mut e);
            return Err(AppError::Validation(errors));
        }
    };
    let [min_x, min_y, max_x, max_y] =
        boundary::bbox(&mp).ok_or_else(|| AppError::field("corner_points", "范围为空"))?;
    let row = ProhibitedZone {
        id: uuid::Uuid::now_v7().to_string(),
        name,
        kind,
        rings_json: serde_json::to_string(&rings.0).map_err(AppError::internal)?,
        source,
        area_m2: boundary::area_m2(&mp),
        min_x,
        min_y,
        max_x,
        max_y,
        active: i32::from(input.active.unwrap_or(true)),
        created_at: now,
        updated_at: now,
    };
    store::insert_zone(conn, &row)?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "prohibited_zone",
            entity_id: &row.id,
            action: "create",
            before: None,
            after: Some(
                serde_json::json!({"name": row.name, "kind": row.kind, "area_m2": row.area_m2, "rings": rings.0}),
            ),
        },
    )?;
    Ok(row)
}

pub fn find_zone(conn: &mut DbConnection, id: &str) -> AppResult<ProhibitedZone> {
    store::find_zone(conn, id)?
        .ok_or_else(|| AppError::NotFound(format!("禁止开采区 {id} 不存在。")))
}

/// Renames or (de)activates a zone; its shape is kept as imported.
pub fn update_zone(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    input: ZoneInput,
) -> AppResult<ProhibitedZone> {
    let before = find_zone(conn, id)?;
    if input.corner_points.is_some() || input.geojson.is_some() || input.kind.is_some() {
        return Err(AppError::field(
            "corner_points",
            "范围和类型导入后不能修改；如有变化，请停用后重新导入",
        ));
    }
    let name = match input.name {
        Some(n) if n.trim().is_empty() => return Err(AppError::field("name", "名称不能为空")),
        Some(n) => n.trim().to_owned(),
        None => before.name.clone(),
    };
    let active = input.active.map_or(before.active, i32::from);
    store::rename_zone(conn, id, &name, active, now)?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "prohibited_zone",
            entity_id: id,
            action: "update",
            before: Some(serde_json::json!({"name": before.name, "active": before.active != 0})),
            after: Some(serde_json::json!({"name": name, "active": active != 0})),
        },
    )?;
    find_zone(conn, id)
}

pub use crate::register::store::boundaries::Mapped;

/// The recorded boundaries for the district map (a township's only, when given); at most
/// `limit`.
pub fn for_map(
    conn: &mut DbConnection,
    township: Option<&str>,
    limit: i64,
) -> AppResult<Vec<Mapped>> {
    store::for_map(conn, township, limit)
}

pub fn zones(conn: &mut DbConnection) -> AppResult<Vec<ProhibitedZone>> {
    store::zones(conn)
}
