//! The district map as GeoJSON, for the web map and for other systems (a GIS desk, the
//! province's platform).

use actix_web::{web, HttpResponse};

use crate::platform::error::{AppResult, Problem};
use crate::web::extract::{ApiQuery, CurrentUser};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/map", web::get().to(district_map));
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MapQuery {
    /// A township's code: only its mines and leads.
    pub township: Option<String>,
}

/// The district map as a GeoJSON FeatureCollection in CGCS2000 longitude / latitude:
/// recorded mine boundaries (coloured by risk grade; closed mines and illegal sites
/// dashed), active prohibited zones, and the open leads with a position the caller may
/// see. Each feature's properties: `label`, `href` (its page), `colour`, `dashed`. At most
/// 3 000 boundaries and 3 000 leads; the `X-Map-Cut: true` header says more were left out.
#[utoipa::path(get, path = "/api/v1/map", tag = "辖区地图", params(MapQuery), responses(
    (status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"),
    (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn district_map(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<MapQuery>,
) -> AppResult<HttpResponse> {
    let township = super::township_filter(q.0.township)?;
    let now = state.clock.now_naive();
    let zone = crate::register::boundaries::zone(&state.settings.geo);
    // Turning thousands of corners into degrees and text is CPU work: off the executor too.
    let (body, cut) = blocking(move || {
        let data = state
            .db
            .read(|conn| super::map(conn, &user.0, township.as_deref(), now))?;
        let body = super::map::geojson(&super::map::drawing(&data, zone), zone);
        Ok((body, data.cut))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .insert_header(("X-Map-Cut", if cut { "true" } else { "false" }))
        .body(body))
}
