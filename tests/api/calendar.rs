use serde_json::Value;

use crate::on_both;

async fn answer(app: &TestApp, from: &str, days: &str) -> (u16, Value) {
    problem(
        app.get(
            &format!("/api/v1/calendar/working-days?from={from}&days={days}"),
            &app.admin_token,
        )
        .await,
    )
    .await
}

on_both! {
    /// Working days skip weekends and public holidays and count make-up Saturdays.
    async fn working_days_follow_the_2026_holiday_calendar(app) {
        // Friday + 1 working day = Monday.
        assert_eq!(answer(&app, "2026-03-06", "1").await.1["date"], "2026-03-09");
        // Sat 2026-02-14 is a make-up workday; 02-15..02-23 is the Spring Festival.
        assert_eq!(answer(&app, "2026-02-13", "1").await.1["date"], "2026-02-14");
        assert_eq!(answer(&app, "2026-02-14", "1").await.1["date"], "2026-02-24");
        // National Day: 10-01..10-07 off; Sat 10-10 is a working day.
        let (_, body) = answer(&app, "2026-09-30", "3").await;
        assert_eq!(body["date"], "2026-10-10");
        assert_eq!(body["calendar_complete"], true);
        // Labour Day 05-01..05-05 off, Sat 05-09 worked: Thu 04-30 + 4 = Sat 05-09, + 5 = Mon 05-11.
        assert_eq!(answer(&app, "2026-04-30", "4").await.1["date"], "2026-05-09");
        assert_eq!(answer(&app, "2026-04-30", "5").await.1["date"], "2026-05-11");
        // A year without an official calendar is flagged.
        assert_eq!(answer(&app, "2027-03-01", "1").await.1["calendar_complete"], false);
    }
}

on_both! {
    /// Bad dates and day counts are 422 naming the field.
    async fn working_days_refuse_bad_input(app) {
        let (status, body) = answer(&app, "2026-13-01", "1").await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["from"]);
        let (status, body) = answer(&app, "2026-03-01", "-1").await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["days"]);
        let (status, body) = problem(app.get("/api/v1/calendar/working-days", &app.admin_token).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["from", "days"]);
    }
}
use crate::helpers::*;
