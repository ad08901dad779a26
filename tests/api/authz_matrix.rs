//! For each role, which actions it is refused: the authorization gate as a table.

use serde_json::{json, Value};

use crate::on_both;

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Value,
    /// Roles allowed, by code.
    allowed: &'static [&'static str],
}

fn cases(target_id: &str, mine_id: &str) -> Vec<Case> {
    let all: &'static [&'static str] = &[
        "admin",
        "coordinator",
        "officer",
        "head",
        "township",
        "enterprise",
    ];
    vec![
        Case {
            name: "list users",
            method: "GET",
            path: "/api/v1/users".into(),
            body: Value::Null,
            allowed: &["admin", "coordinator"],
        },
        Case {
            name: "read a user",
            method: "GET",
            path: format!("/api/v1/users/{target_id}"),
            body: Value::Null,
            allowed: &["admin", "coordinator"],
        },
        Case {
            name: "create a user",
            method: "POST",
            path: "/api/v1/users".into(),
            body: json!({"username": "matrix.new", "password": "Matrix-pass-2026", "display_name": "新用户", "role": "officer", "department": "EM"}),
            allowed: &["admin"],
        },
        Case {
            name: "edit a user",
            method: "PATCH",
            path: format!("/api/v1/users/{target_id}"),
            body: json!({"display_name": "改名"}),
            allowed: &["admin"],
        },
        Case {
            name: "unlock a user",
            method: "POST",
            path: format!("/api/v1/users/{target_id}/unlock"),
            body: json!({}),
            allowed: &["admin"],
        },
        Case {
            name: "reset a password",
            method: "POST",
            path: format!("/api/v1/users/{target_id}/reset-password"),
            body: json!({"password": "Some-pass-2026"}),
            allowed: &["admin"],
        },
        Case {
            name: "read departments",
            method: "GET",
            path: "/api/v1/departments".into(),
            body: Value::Null,
            allowed: all,
        },
        Case {
            name: "edit a department",
            method: "PATCH",
            path: "/api/v1/departments/EE".into(),
            body: json!({"duties": "x"}),
            allowed: &["admin"],
        },
        Case {
            name: "add a township",
            method: "POST",
            path: "/api/v1/townships".into(),
            body: json!({"code": "", "name": ""}),
            allowed: &["admin"],
        },
        Case {
            name: "edit routing",
            method: "PATCH",
            path: "/api/v1/lead-categories/dust".into(),
            body: json!({"basis": "x"}),
            allowed: &["admin"],
        },
        Case {
            name: "edit a permit type",
            method: "PATCH",
            path: "/api/v1/permit-types/eia_approval".into(),
            body: json!({"notes": "x"}),
            allowed: &["admin"],
        },
        Case {
            name: "read the audit trail",
            method: "GET",
            path: "/api/v1/audit".into(),
            body: Value::Null,
            allowed: &["admin", "coordinator"],
        },
        Case {
            name: "read the mail taken in",
            method: "GET",
            path: "/api/v1/intake/messages".into(),
            body: Value::Null,
            allowed: &["admin", "coordinator"],
        },
        Case {
            name: "read the outbox",
            method: "GET",
            path: "/api/v1/outbox".into(),
            body: Value::Null,
            allowed: &["admin"],
        },
        Case {
            name: "choose email notices",
            method: "PUT",
            path: "/api/v1/me/notification-preferences".into(),
            body: json!({"email": {"permit_expiry": true}}),
            allowed: all,
        },
        Case {
            name: "read the mine register",
            method: "GET",
            path: "/api/v1/mines".into(),
            body: Value::Null,
            allowed: &["admin", "coordinator", "officer", "head", "township"],
        },
        Case {
            name: "register a mine (NR, EM)",
            method: "POST",
            path: "/api/v1/mines".into(),
            body: crate::mines::mine_body("矩阵矿", 999),
            allowed: &["admin", "coordinator", "head"],
        },
        Case {
            name: "grade a mine (EM)",
            method: "PUT",
            path: format!("/api/v1/mines/{mine_id}/risk-grade"),
            body: json!({"risk_grade": "low", "reason": "矩阵"}),
            allowed: &["admin", "coordinator", "head"],
        },
        Case {
            name: "record a boundary (NR)",
            method: "PUT",
            path: format!("/api/v1/mines/{mine_id}/boundary"),
            body: json!({"corner_points": "4503000 415000\n4503000 415100\n4502900 415100"}),
            allowed: &["admin", "coordinator"],
        },
        Case {
            name: "read permits",
            method: "GET",
            path: "/api/v1/permits".into(),
            body: Value::Null,
            allowed: &["admin", "coordinator", "officer", "head", "township"],
        },
        Case {
            name: "working days",
            method: "GET",
            path: "/api/v1/calendar/working-days?from=2026-03-02&days=1".into(),
            body: Value::Null,
            allowed: all,
        },
    ]
}

on_both! {
    /// Every role is refused exactly the actions outside its role, with a 403 problem.
    async fn each_role_is_refused_what_is_not_its_own(app) {
        let target = app.create_user("target.user", "officer", Some("EM"), None).await;
        let mine = crate::mines::create_mine(&app, &app.admin_token, crate::mines::mine_body("矩阵目标矿", 998)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let mut tokens = vec![("admin", app.admin_token.clone())];
        for (role, dep, town) in [("coordinator", Some("NR"), None), ("officer", Some("EE"), None), ("head", Some("EM"), None), ("township", None, Some("BEHT")), ("enterprise", None, None)] {
            let name = format!("m.{role}");
            app.create_user(&name, role, dep, town).await;
            tokens.push((role, app.token_for(&name, PASSWORD).await));
        }
        let mut refused_table = Vec::new();
        for (role, token) in &tokens {
            for case in cases(&target, &mine_id) {
                let req = match case.method {
                    "GET" => app.client.get(app.url(&case.path)),
                    "POST" => app.client.post(app.url(&case.path)).json(&case.body),
                    "PUT" => app.client.put(app.url(&case.path)).json(&case.body),
                    _ => app.client.patch(app.url(&case.path)).json(&case.body),
                };
                let status = req.bearer_auth(token).send().await.unwrap().status().as_u16();
                let allowed = case.allowed.contains(role);
                if allowed {
                    assert_ne!(status, 403, "{role} may {}", case.name);
                    assert_ne!(status, 401, "{role} may {}", case.name);
                } else {
                    assert_eq!(status, 403, "{role} must be refused: {}", case.name);
                    refused_table.push(format!("{role}: {}", case.name));
                }
            }
        }
        // The matrix itself, so a change to the gate shows up as a change here.
        assert_eq!(refused_table.len(), 9 * 5 + 4 * 4 + 1 + 3 + 3 + 4 + 1, "{refused_table:#?}");
        let target_view: Value = app.get(&format!("/api/v1/users/{target}"), &app.admin_token).await.json().await.unwrap();
        assert_eq!(target_view["display_name"], "改名", "only the admin's edit went through");
    }
}

use crate::helpers::*;
