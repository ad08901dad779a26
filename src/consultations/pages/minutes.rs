//! The minutes in the browser: the section of the meeting's page (the decisions, the
//! head's approval, 补充纪要), the office's drafting form, and the printable A4 纪要.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use askama::Template;

use super::detail_page;
use crate::consultations::minutes::{self, MinutesInput, MinutesView, NewDecision};
use crate::consultations::rules::{DecisionKind, MinutesState, MAX_DECISIONS};
use crate::consultations::{self as consultations, policy, MeetingView};
use crate::platform::error::{AppError, FieldError};
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consultations/{id}/minutes", web::get().to(print))
        .route("/consultations/{id}/minutes", web::post().to(save))
        .route(
            "/consultations/{id}/minutes/approve",
            web::post().to(approve),
        )
        .route(
            "/consultations/{id}/minutes/supplements",
            web::post().to(supplement),
        );
}

/// One decision's row of the drafting form.
#[derive(Debug, Clone, Default)]
pub(super) struct DecisionRow {
    pub(super) n: usize,
    pub(super) text: String,
    pub(super) kind: String,
    pub(super) unit: String,
    pub(super) coop: Vec<String>,
    pub(super) due_on: String,
    pub(super) mine: String,
}

impl DecisionRow {
    fn is_blank(&self) -> bool {
        self.text.trim().is_empty() && self.unit.is_empty() && self.due_on.is_empty()
    }
}

/// The drafting form as typed (or as the draft stands).
#[derive(Debug, Clone, Default)]
pub(super) struct MinutesForm {
    pub(super) attendees: String,
    pub(super) discussion: String,
    /// (agenda item, what was said on it)
    pub(super) notes: Vec<(String, String)>,
    pub(super) rows: Vec<DecisionRow>,
    pub(super) version: String,
}

/// Blank rows offered beneath the decisions already typed.
const BLANK_ROWS: usize = 3;

impl MinutesForm {
    /// The form for a meeting: its draft when there is one, else the attendees who
    /// answered (unit and name) and the agenda's items.
    pub(super) fn of(v: &MeetingView, draft: Option<&MinutesView>) -> Self {
        let mut f = match draft {
            Some(m) => MinutesForm {
                attendees: m.attendees.join("\n"),
                discussion: m.discussion.clone(),
                notes: v
                    .agenda
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        (
                            a.title.clone(),
                            m.agenda_notes.get(i).cloned().unwrap_or_default(),
                        )
                    })
                    .collect(),
                rows: m
                    .decisions
                    .iter()
                    .enumerate()
                    .map(|(n, d)| DecisionRow {
                        n,
                        text: d.text.clone(),
                        kind: d.kind.code().to_owned(),
                        unit: d.responsible_unit.clone(),
                        coop: d.cooperating_units.clone(),
                        due_on: d.due_on.clone(),
                        mine: d.mine_id.clone().unwrap_or_default(),
                    })
                    .collect(),
                version: m.version.to_string(),
            },
            None => MinutesForm {
                attendees: v
                    .invitees
                    .iter()
                    .filter(|i| !i.attendee_name.is_empty())
                    .map(|i| format!("{} {}", i.name, i.attendee_name))
                    .collect::<Vec<_>>()
                    .join("\n"),
                notes: v
                    .agenda
                    .iter()
                    .map(|a| (a.title.clone(), String::new()))
                    .collect(),
                ..MinutesForm::default()
            },
        };
        f.pad();
        f
    }

    /// Blank rows beneath the typed ones, numbered on.
    fn pad(&mut self) {
        self.rows.retain(|r| !r.is_blank());
        for (n, r) in self.rows.iter_mut().enumerate() {
            r.n = n;
        }
        let typed = self.rows.len();
        for n in typed..(typed + BLANK_ROWS).min(MAX_DECISIONS) {
            self.rows.push(DecisionRow {
                n,
                kind: DecisionKind::Task.code().to_owned(),
                ..DecisionRow::default()
            });
        }
    }

    fn from_map(m: &HashMap<String, String>, agenda: &[String]) -> Self {
        let get = |k: &str| m.get(k).cloned().unwrap_or_default();
        let mut rows = Vec::new();
        for n in 0..MAX_DECISIONS + BLANK_ROWS {
            let key = |f: &str| format!("d.{n}.{f}");
            if !m.contains_key(&key("text")) {
                continue;
            }
            let prefix = format!("d.{n}.coop.");
            let mut coop: Vec<String> = m
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
                .collect();
            coop.sort();
            rows.push(DecisionRow {
                n,
                text: get(&key("text")),
                kind: get(&key("kind")),
                unit: get(&key("unit")),
                coop,
                due_on: get(&key("due_on")),
                mine: get(&key("mine")),
            });
        }
        MinutesForm {
            attendees: get("attendees"),
            discussion: get("discussion"),
            notes: agenda
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), get(&format!("note.{i}"))))
                .collect(),
            rows,
            version: get("version"),
        }
    }

    fn input(&self) -> MinutesInput {
        let typed: Vec<&DecisionRow> = self.rows.iter().filter(|r| !r.is_blank()).collect();
        MinutesInput {
            attendees: self.attendees.lines().map(str::to_owned).collect(),
            discussion: self.discussion.clone(),
            agenda_notes: self.notes.iter().map(|n| n.1.clone()).collect(),
            decisions: typed
                .iter()
                .map(|r| NewDecision {
                    text: r.text.clone(),
                    responsible_unit: r.unit.clone(),
                    cooperating_units: r.coop.clone(),
                    due_on: r.due_on.clone(),
                    kind: r.kind.clone(),
                    mine_id: Some(r.mine.clone()).filter(|m| !m.is_empty()),
                })
                .collect(),
            version: self.version.parse().ok(),
        }
    }
}

/// What the minutes' section of the meeting's page shows and offers the reader.
pub(super) struct Section {
    pub(super) minutes: Option<MinutesView>,
    pub(super) may_approve: bool,
    pub(super) may_supplement: bool,
    /// The drafting form, for the office once the meeting has begun and until approval.
    pub(super) form: Option<MinutesForm>,
    pub(super) departments: Vec<(String, String)>,
    pub(super) mines: Vec<(String, String)>,
}

/// The section for the reader; `typed` is a refused form to show again.
pub(super) fn section(
    conn: &mut crate::platform::db::DbConnection,
    who: &crate::platform::authz::Principal,
    now: chrono::NaiveDateTime,
    v: &MeetingView,
    started: bool,
    typed: Option<MinutesForm>,
) -> Result<Section, AppError> {
    let m = minutes::minutes_of(conn, who, now, &v.id)?;
    let approved = m
        .as_ref()
        .is_some_and(|m| m.state == MinutesState::Approved);
    let cancelled = v.state == crate::consultations::rules::MeetingState::Cancelled;
    let drafting = policy::may_convene(who) && started && !approved && !cancelled;
    let (departments, mines) = if drafting {
        let d = crate::reference::departments(conn)?
            .into_iter()
            .filter(|d| d.active != 0)
            .map(|d| (d.code, d.name))
            .collect();
        // The agenda's mines first, then the district's open ones.
        let on_agenda: Vec<String> = v.agenda.iter().filter_map(|a| a.mine_id.clone()).collect();
        let names = crate::register::mines::names(conn, &on_agenda)?;
        let mut mines: Vec<(String, String)> = on_agenda
            .iter()
            .filter_map(|id| names.get(id).map(|n| (id.clone(), n.clone())))
            .collect();
        for (id, name) in crate::register::mines::open_choices(conn, None, 300)? {
            if !mines.iter().any(|(m, _)| *m == id) {
                mines.push((id, name));
            }
        }
        (d, mines)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Section {
        may_approve: m.as_ref().is_some_and(|m| m.state == MinutesState::Draft)
            && policy::is_office_head(who),
        may_supplement: approved && policy::may_convene(who),
        form: drafting.then(|| typed.unwrap_or_else(|| MinutesForm::of(v, m.as_ref()))),
        minutes: m,
        departments,
        mines,
    })
}

pub(super) fn kinds() -> Vec<(String, String)> {
    DecisionKind::ALL
        .iter()
        .map(|k| (k.code().to_owned(), k.label().to_owned()))
        .collect()
}

/// A decision's field named for a person: "第 2 项议定事项：…".
fn message(e: &FieldError) -> String {
    e.field
        .strip_prefix("decisions[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, _)| n.parse::<usize>().ok())
        .map(|n| format!("第 {} 项议定事项：{}", n + 1, e.message))
        .unwrap_or_else(|| e.message.clone())
}

async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<HashMap<String, String>>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let (st, who, tid, now) = (
        state.clone(),
        s.principal.clone(),
        id.to_string(),
        state.clock.now_naive(),
    );
    let agenda: Vec<String> = blocking(move || {
        st.db.read(|c| {
            let m = consultations::load(c, &who, &tid)?;
            Ok(consultations::view(c, &m, now)?
                .agenda
                .into_iter()
                .map(|a| a.title)
                .collect())
        })
    })
    .await
    .page(&s)?;
    let mut typed = MinutesForm::from_map(&form.form, &agenda);
    let input = typed.input();
    let (st, who, tid) = (state.clone(), s.principal.clone(), id.to_string());
    let result = blocking(move || {
        st.db
            .transaction(|c| minutes::put(c, &who, now, &tid, input))
    })
    .await;
    match result {
        Ok(_) => Ok(redirect(&format!("/consultations/{id}?ok=minuted#minutes"))),
        Err(AppError::Validation(errors)) => {
            typed.pad();
            let shown = errors.iter().map(message).collect();
            detail_page(&state, &s, &req, &id, shown, Some(typed)).await
        }
        Err(e) => match shown_again(&e) {
            Some(m) => detail_page(&state, &s, &req, &id, m, Some(typed)).await,
            None => Err(PageError(e, Some(Box::new(s)))),
        },
    }
}

#[derive(serde::Deserialize)]
struct NoFields {}

async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<NoFields>,
    id: web::Path<String>,
) -> PageResult {
    super::act(
        &state,
        &req,
        form.session,
        &id,
        "approved",
        |c, who, now, tid| minutes::approve(c, who, now, tid).map(|_| ()),
    )
    .await
}

#[derive(serde::Deserialize)]
struct SupplementForm {
    #[serde(default)]
    text: String,
}

async fn supplement(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<SupplementForm>,
    id: web::Path<String>,
) -> PageResult {
    let text = form.form.text;
    super::act(
        &state,
        &req,
        form.session,
        &id,
        "supplemented",
        move |c, who, now, tid| minutes::supplement(c, who, now, tid, &text).map(|_| ()),
    )
    .await
}

#[derive(Template)]
#[template(path = "minutes_print.html")]
struct PrintPage {
    id: String,
    number: String,
    topic: String,
    when: String,
    place: String,
    attendees: String,
    discussion: String,
    notes: Vec<(String, String)>,
    decisions: Vec<crate::consultations::ledger::DecisionView>,
    supplements: Vec<crate::consultations::minutes::SupplementView>,
    approved: bool,
    approved_by: String,
    approved_at: String,
}

/// The printable 会议纪要 (A4): the draft marked as such until approved.
async fn print(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s: Session = signed_in!(ps, req);
    let (st, who, tid, now) = (
        state.clone(),
        s.principal.clone(),
        id.to_string(),
        state.clock.now_naive(),
    );
    let (v, m) = blocking(move || {
        st.db.read(|c| {
            let m = consultations::load(c, &who, &tid)?;
            let v = consultations::view(c, &m, now)?;
            let minutes = minutes::minutes_of(c, &who, now, &tid)?
                .ok_or_else(|| AppError::NotFound("这次会商还没有会议纪要。".into()))?;
            Ok((v, minutes))
        })
    })
    .await
    .page(&s)?;
    let page = PrintPage {
        id: v.id.clone(),
        number: v.number.clone(),
        topic: v.topic.clone(),
        when: v.starts_at.replace('T', " "),
        place: v.place.clone(),
        attendees: m.attendees.join("、"),
        discussion: m.discussion.clone(),
        notes: v
            .agenda
            .iter()
            .zip(&m.agenda_notes)
            .filter(|(_, n)| !n.is_empty())
            .map(|(a, n)| (a.title.clone(), n.clone()))
            .collect(),
        decisions: m.decisions.clone(),
        supplements: m.supplements.clone(),
        approved: m.state == MinutesState::Approved,
        approved_by: m.approved_by.clone(),
        approved_at: m.approved_at.clone().unwrap_or_default(),
    };
    Ok(render(&page))
}
