// Written by hand to match migrations/{sqlite,postgres}. Only the column types that
// diesel's MultiConnection supports on both backends appear here.

diesel::table! {
    system_settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    departments (code) {
        code -> Text,
        name -> Text,
        duties -> Text,
        is_coordination_office -> Integer,
        email -> Nullable<Text>,
        sort_order -> Integer,
        active -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    townships (code) {
        code -> Text,
        name -> Text,
        email -> Nullable<Text>,
        sort_order -> Integer,
        active -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    lead_categories (code) {
        code -> Text,
        name -> Text,
        primary_department -> Text,
        assisting_departments -> Text,
        basis -> Text,
        mining_related -> Integer,
        sort_order -> Integer,
        active -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    permit_types (code) {
        code -> Text,
        name -> Text,
        issuing_department -> Text,
        expiry_warning_days -> Integer,
        notes -> Text,
        sort_order -> Integer,
        active -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        display_name -> Text,
        email -> Nullable<Text>,
        role -> Text,
        department -> Nullable<Text>,
        township -> Nullable<Text>,
        mine_id -> Nullable<Text>,
        active -> Integer,
        token_version -> Integer,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_login_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        must_change_password -> Integer,
        certificate_number -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        seq -> Nullable<BigInt>,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        entity_type -> Text,
        entity_id -> Text,
        action -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        last_seq -> BigInt,
        last_hash -> Text,
    }
}

diesel::table! {
    lead_stat_changes (id) {
        id -> BigInt,
        lead_id -> Text,
    }
}

diesel::table! {
    lead_stat_parts (lead_id) {
        lead_id -> Text,
        parts -> Text,
    }
}

diesel::table! {
    lead_stat_days (day, metric, unit) {
        day -> Text,
        metric -> Text,
        unit -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    lead_stat_hours (period) {
        period -> Text,
        buckets -> Text,
    }
}

diesel::table! {
    lead_due_marks (id) {
        id -> BigInt,
        day -> Text,
    }
}

diesel::table! {
    lead_due_days (day, unit) {
        day -> Text,
        unit -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    lead_stat_stamps (period) {
        period -> Text,
        stamp -> Text,
    }
}

diesel::table! {
    lead_stat_rollup (id) {
        id -> Integer,
        rolled_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    departments,
    townships,
    lead_categories,
    permit_types,
    reference_stamp,
    users,
    audit_log,
    mines,
    mine_changes,
    permits,
    mine_boundaries,
    prohibited_zones,
    notifications,
    outbox,
    notification_preferences,
    permit_reminders,
    leads,
    lead_departments,
    lead_deadlines,
    lead_events,
    lead_counters,
    lead_stat_changes,
    lead_stat_parts,
    lead_stat_days,
    lead_stat_hours,
    lead_stat_rollup,
    lead_stat_stamps,
    lead_due_marks,
    lead_due_days,
    lead_transfers,
    lead_evaluations,
    lead_followers,
    lead_attachments,
    inbound_messages,
    inspection_items,
    inspections,
    inspection_departments,
    inspection_inspectors,
    inspection_task_items,
    inspection_results,
    hazards,
    inspection_ratings,
    inspection_plans,
    inspection_files,
    inspection_tallies,
    consultation_requests,
    consultations,
    consultation_invitees,
    consultation_agenda,
    consultation_counters,
    calendar_feeds,
    consultation_minutes,
    minutes_supplements,
    decisions,
    decision_reports,
    decision_extensions,
    decision_files,
    decision_tallies,
    decision_closure_tallies,
    decision_due_tallies,
    monthly_reports,
    monthly_report_items,
    monthly_report_reminders,
    closure_task_templates,
    closure_counters,
    closure_cases,
    closure_tasks,
    closure_files,
    closure_acceptances,
    closure_acceptance_units,
    closure_watch,
    closure_patrols,
    closure_tallies,
    closure_due_tallies,
);

diesel::table! {
    idempotency_keys (user_id, idem_key) {
        user_id -> Text,
        idem_key -> Text,
        method -> Text,
        path -> Text,
        request_digest -> Text,
        status -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    mines (id) {
        id -> Text,
        name -> Text,
        enterprise_name -> Text,
        credit_code -> Text,
        township -> Text,
        mine_type -> Text,
        mineral -> Text,
        mining_method -> Text,
        status -> Text,
        supervisor_department -> Nullable<Text>,
        risk_grade -> Nullable<Text>,
        last_inspected_on -> Nullable<Date>,
        address -> Text,
        contact_name -> Text,
        contact_phone -> Text,
        licence_number -> Text,
        tailings_capacity_10k_m3 -> Nullable<Double>,
        tailings_dam_height_m -> Nullable<Double>,
        tailings_grade -> Nullable<Integer>,
        tailings_safety -> Nullable<Text>,
        tailings_evaluated_on -> Nullable<Date>,
        tailings_overhead -> Integer,
        search_text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    mine_changes (id) {
        id -> Text,
        mine_id -> Text,
        kind -> Text,
        from_value -> Nullable<Text>,
        to_value -> Nullable<Text>,
        reason -> Text,
        assessment -> Text,
        assessed_on -> Nullable<Date>,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::joinable!(mine_changes -> mines (mine_id));

diesel::table! {
    permits (id) {
        id -> Text,
        mine_id -> Text,
        permit_type -> Text,
        issuing_department -> Text,
        number -> Text,
        holder -> Text,
        issued_on -> Date,
        expires_on -> Nullable<Date>,
        mineral -> Text,
        scale_10k_t_per_year -> Nullable<Double>,
        area_km2 -> Nullable<Double>,
        elevation_top_m -> Nullable<Double>,
        elevation_bottom_m -> Nullable<Double>,
        notes -> Text,
        status_override -> Nullable<Text>,
        override_reason -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::joinable!(permits -> mines (mine_id));
diesel::joinable!(permits -> permit_types (permit_type));

diesel::table! {
    mine_boundaries (mine_id) {
        mine_id -> Text,
        rings_json -> Text,
        source -> Text,
        area_m2 -> Double,
        min_x -> Double,
        min_y -> Double,
        max_x -> Double,
        max_y -> Double,
        elevation_top_m -> Nullable<Double>,
        elevation_bottom_m -> Nullable<Double>,
        updated_at -> Timestamp,
        closed -> Integer,
    }
}

diesel::joinable!(mine_boundaries -> mines (mine_id));

diesel::table! {
    prohibited_zones (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        rings_json -> Text,
        source -> Text,
        area_m2 -> Double,
        min_x -> Double,
        min_y -> Double,
        max_x -> Double,
        max_y -> Double,
        active -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        title -> Text,
        body -> Text,
        link -> Text,
        entity_type -> Text,
        entity_id -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(notifications -> users (user_id));

diesel::table! {
    outbox (id) {
        id -> Text,
        message_id -> Text,
        recipient -> Text,
        user_id -> Nullable<Text>,
        kind -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        leased_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        calendar -> Nullable<Text>,
        link -> Nullable<Text>,
    }
}

diesel::table! {
    notification_preferences (user_id, kind) {
        user_id -> Text,
        kind -> Text,
        email -> Integer,
    }
}

diesel::table! {
    permit_reminders (permit_id, expires_on, lead_days) {
        permit_id -> Text,
        expires_on -> Date,
        lead_days -> Integer,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    reference_stamp (id) {
        id -> Integer,
        stamp -> Text,
    }
}

diesel::table! {
    lead_counters (year) {
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    leads (id) {
        id -> Text,
        number -> Text,
        title -> Text,
        description -> Text,
        category -> Text,
        urgency -> Text,
        source -> Text,
        mine_id -> Nullable<Text>,
        lon -> Nullable<Double>,
        lat -> Nullable<Double>,
        township -> Nullable<Text>,
        state -> Text,
        primary_department -> Text,
        assisting_departments -> Text,
        routing_reason -> Text,
        substantiated -> Nullable<Integer>,
        raised_by -> Nullable<Text>,
        raised_by_name -> Text,
        raised_unit -> Text,
        raised_at -> Timestamp,
        next_due_at -> Nullable<Timestamp>,
        overdue -> Integer,
        transfer_state -> Nullable<Text>,
        consultation_requested_at -> Nullable<Timestamp>,
        reopened -> Integer,
        merged_into -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        version -> Integer,
        assignee_id -> Nullable<Text>,
        assigned_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    lead_departments (lead_id, department) {
        lead_id -> Text,
        department -> Text,
        role -> Text,
        next_due_at -> Nullable<Timestamp>,
        raised_at -> Timestamp,
    }
}

diesel::table! {
    lead_deadlines (lead_id, stage) {
        lead_id -> Text,
        stage -> Text,
        due_at -> Timestamp,
        met_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    lead_events (id) {
        id -> Text,
        lead_id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        actor_unit -> Text,
        kind -> Text,
        note -> Text,
        data_json -> Text,
    }
}

diesel::joinable!(leads -> mines (mine_id));
diesel::joinable!(leads -> lead_categories (category));
diesel::joinable!(lead_departments -> leads (lead_id));
diesel::joinable!(lead_deadlines -> leads (lead_id));
diesel::joinable!(lead_events -> leads (lead_id));

diesel::table! {
    inbound_messages (id) {
        id -> Text,
        message_key -> Text,
        message_id -> Nullable<Text>,
        channel -> Text,
        mail_from -> Nullable<Text>,
        sender -> Text,
        user_id -> Text,
        subject -> Text,
        size_bytes -> BigInt,
        raw -> Binary,
        status -> Text,
        outcome -> Nullable<Text>,
        reason -> Nullable<Text>,
        notes -> Text,
        lead_id -> Nullable<Text>,
        attempts -> Integer,
        received_at -> Timestamp,
        processed_at -> Nullable<Timestamp>,
        origin -> Text,
        reply_lead_id -> Nullable<Text>,
        reply_consultation_id -> Nullable<Text>,
        consultation_id -> Nullable<Text>,
    }
}

diesel::joinable!(inbound_messages -> leads (lead_id));
diesel::joinable!(inbound_messages -> users (user_id));

diesel::table! {
    lead_transfers (id) {
        id -> Text,
        lead_id -> Text,
        from_department -> Text,
        to_department -> Text,
        reason -> Text,
        status -> Text,
        requested_by -> Nullable<Text>,
        requested_at -> Timestamp,
        answer_note -> Text,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        decided_department -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    lead_evaluations (lead_id, department) {
        lead_id -> Text,
        department -> Text,
        verdict -> Text,
        comment -> Text,
        evaluated_by -> Nullable<Text>,
        evaluated_at -> Timestamp,
    }
}

diesel::joinable!(lead_transfers -> leads (lead_id));
diesel::joinable!(lead_evaluations -> leads (lead_id));

diesel::table! {
    lead_followers (lead_id, user_id) {
        lead_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    lead_attachments (id) {
        id -> Text,
        lead_id -> Text,
        event_id -> Nullable<Text>,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        data -> Binary,
        uploaded_by -> Nullable<Text>,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    inspection_files (id) {
        id -> Text,
        inspection_id -> Text,
        item_code -> Nullable<Text>,
        hazard_id -> Nullable<Text>,
        purpose -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        data -> Binary,
        uploaded_by -> Nullable<Text>,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    inspection_items (code) {
        code -> Text,
        department -> Text,
        name -> Text,
        legal_basis -> Text,
        joinable -> Integer,
        active -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    inspection_counters (kind, year) {
        kind -> Text,
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    inspections (id) {
        id -> Text,
        number -> Text,
        code -> Text,
        mine_id -> Text,
        lead_department -> Text,
        state -> Text,
        window_from -> Date,
        window_to -> Date,
        basis -> Text,
        basis_ref -> Text,
        lead_id -> Nullable<Text>,
        override_kind -> Nullable<Text>,
        override_reason -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        archived_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        cancel_reason -> Text,
        updated_at -> Timestamp,
        version -> Integer,
        plan_id -> Nullable<Text>,
    }
}

diesel::table! {
    inspection_plans (id) {
        id -> Text,
        year -> Integer,
        lead_department -> Text,
        joint_departments -> Text,
        period_from -> Date,
        period_to -> Date,
        target_count -> Integer,
        scope -> Text,
        content -> Text,
        exempt_from_publication -> Integer,
        state -> Text,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    inspection_departments (inspection_id, department) {
        inspection_id -> Text,
        department -> Text,
        role -> Text,
        recorded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    inspection_inspectors (inspection_id, user_id) {
        inspection_id -> Text,
        user_id -> Text,
        department -> Text,
        name -> Text,
        certificate_number -> Text,
    }
}

diesel::table! {
    inspection_task_items (inspection_id, item_code) {
        inspection_id -> Text,
        item_code -> Text,
        department -> Text,
    }
}

diesel::table! {
    inspection_results (inspection_id, item_code) {
        inspection_id -> Text,
        item_code -> Text,
        department -> Text,
        mine_id -> Text,
        outcome -> Text,
        note -> Text,
        recognised_from -> Nullable<Text>,
        recorded_by -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    hazards (id) {
        id -> Text,
        number -> Text,
        inspection_id -> Text,
        mine_id -> Text,
        item_code -> Text,
        grade -> Text,
        standard_item -> Nullable<Text>,
        description -> Text,
        rectify_by -> Date,
        responsible_department -> Text,
        state -> Text,
        escalated_at -> Nullable<Timestamp>,
        reinspected_at -> Nullable<Timestamp>,
        reinspection_note -> Text,
        closed_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        visit_on -> Date,
    }
}

diesel::table! {
    inspection_tallies (month, department) {
        month -> Text,
        department -> Text,
        tasks -> BigInt,
        joint_tasks -> BigInt,
        ratings -> BigInt,
        satisfied -> BigInt,
        hazards -> BigInt,
        hazards_closed -> BigInt,
        overrides -> BigInt,
    }
}

diesel::table! {
    inspection_ratings (inspection_id) {
        inspection_id -> Text,
        mine_id -> Text,
        verdict -> Text,
        comment -> Text,
        rated_by -> Nullable<Text>,
        rated_at -> Timestamp,
    }
}

diesel::joinable!(inspection_departments -> inspections (inspection_id));
diesel::joinable!(inspection_results -> inspections (inspection_id));
diesel::joinable!(hazards -> inspections (inspection_id));

diesel::table! {
    consultation_requests (id) {
        id -> Text,
        topic -> Text,
        reason -> Text,
        department -> Nullable<Text>,
        lead_ids -> Text,
        mine_ids -> Text,
        hazard_ids -> Text,
        state -> Text,
        consultation_id -> Nullable<Text>,
        requested_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        decline_reason -> Text,
        declined_by -> Nullable<Text>,
        declined_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consultations (id) {
        id -> Text,
        number -> Text,
        topic -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        place -> Text,
        online_url -> Nullable<Text>,
        state -> Text,
        sequence -> Integer,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        cancel_reason -> Text,
        version -> Integer,
    }
}

diesel::table! {
    consultation_invitees (consultation_id, kind, unit) {
        consultation_id -> Text,
        kind -> Text,
        unit -> Text,
        answer -> Text,
        attendee_name -> Text,
        reason -> Text,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consultation_agenda (consultation_id, position) {
        consultation_id -> Text,
        position -> Integer,
        title -> Text,
        lead_id -> Nullable<Text>,
        mine_id -> Nullable<Text>,
        hazard_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    consultation_counters (year) {
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    calendar_feeds (user_id) {
        user_id -> Text,
        token_sha256 -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consultation_minutes (consultation_id) {
        consultation_id -> Text,
        attendees -> Text,
        discussion -> Text,
        agenda_notes -> Text,
        state -> Text,
        drafted_by -> Nullable<Text>,
        drafted_at -> Timestamp,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    minutes_supplements (consultation_id, position) {
        consultation_id -> Text,
        position -> Integer,
        body -> Text,
        written_by -> Nullable<Text>,
        written_at -> Timestamp,
    }
}

diesel::table! {
    decisions (id) {
        id -> Text,
        consultation_id -> Text,
        position -> Integer,
        number -> Text,
        body -> Text,
        kind -> Text,
        responsible_unit -> Text,
        cooperating_units -> Text,
        mine_id -> Nullable<Text>,
        due_on -> Date,
        state -> Text,
        percent -> Integer,
        opened_type -> Nullable<Text>,
        opened_id -> Nullable<Text>,
        entered_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    decision_reports (id) {
        id -> Text,
        decision_id -> Text,
        body -> Text,
        percent -> Integer,
        done -> Integer,
        reported_by -> Nullable<Text>,
        reported_at -> Timestamp,
        review -> Text,
        review_reason -> Text,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    decision_extensions (decision_id, position) {
        decision_id -> Text,
        position -> Integer,
        from_on -> Date,
        to_on -> Date,
        reason -> Text,
        extended_by -> Nullable<Text>,
        extended_at -> Timestamp,
    }
}

diesel::table! {
    decision_files (id) {
        id -> Text,
        decision_id -> Text,
        report_id -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        data -> Binary,
        uploaded_by -> Nullable<Text>,
        uploaded_at -> Timestamp,
    }
}

diesel::joinable!(decisions -> consultations (consultation_id));
diesel::joinable!(decision_reports -> decisions (decision_id));

diesel::table! {
    monthly_reports (id) {
        id -> Text,
        month -> Text,
        unit -> Text,
        state -> Text,
        drafted_by -> Nullable<Text>,
        drafted_at -> Timestamp,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        explanation -> Text,
        filed_at -> Nullable<Timestamp>,
        late -> Integer,
        version -> Integer,
    }
}

diesel::table! {
    monthly_report_items (report_id, decision_id) {
        report_id -> Text,
        decision_id -> Text,
        body -> Text,
        percent -> Integer,
    }
}

diesel::table! {
    monthly_report_reminders (month, unit, day) {
        month -> Text,
        unit -> Text,
        day -> Integer,
        sent_at -> Timestamp,
    }
}

diesel::joinable!(monthly_report_items -> monthly_reports (report_id));

diesel::table! {
    decision_closure_tallies (unit, month) {
        unit -> Text,
        month -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    decision_due_tallies (unit, month) {
        unit -> Text,
        month -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    decision_tallies (unit, state) {
        unit -> Text,
        state -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    closure_task_templates (code) {
        code -> Text,
        name -> Text,
        department -> Text,
        kinds -> Text,
        due_days -> Integer,
        permit_type -> Nullable<Text>,
        notified -> Text,
        notes -> Text,
        sort_order -> Integer,
        active -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    closure_counters (year) {
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    closure_cases (id) {
        id -> Text,
        number -> Text,
        mine_id -> Text,
        kind -> Text,
        owner_department -> Text,
        decision_number -> Text,
        decided_on -> Date,
        issuing_body -> Text,
        basis -> Text,
        basis_ref -> Text,
        target_on -> Date,
        state -> Text,
        status_before -> Text,
        stop_on -> Nullable<Date>,
        design_due_on -> Nullable<Date>,
        extended_months -> Integer,
        extension_reason -> Text,
        extended_by -> Nullable<Text>,
        extended_at -> Nullable<Timestamp>,
        accepted_on -> Nullable<Date>,
        reminded_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        opened_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    closure_tasks (id) {
        id -> Text,
        case_id -> Text,
        position -> Integer,
        code -> Text,
        name -> Text,
        department -> Text,
        due_on -> Date,
        state -> Text,
        permit_type -> Nullable<Text>,
        notified -> Text,
        added_reason -> Text,
        note -> Text,
        done_by -> Nullable<Text>,
        done_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    closure_files (id) {
        id -> Text,
        case_id -> Text,
        task_id -> Nullable<Text>,
        purpose -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        data -> Binary,
        lon -> Nullable<Double>,
        lat -> Nullable<Double>,
        uploaded_by -> Nullable<Text>,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    closure_acceptances (id) {
        id -> Text,
        case_id -> Text,
        accepted_on -> Date,
        accepted -> Integer,
        conclusion -> Text,
        redo -> Text,
        recorded_by -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    closure_acceptance_units (acceptance_id, department) {
        acceptance_id -> Text,
        department -> Text,
        confirmed_by -> Nullable<Text>,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    closure_watch (mine_id) {
        mine_id -> Text,
        case_id -> Text,
        closed_on -> Date,
        last_patrol_on -> Nullable<Date>,
        last_patrol_outcome -> Nullable<Text>,
    }
}

diesel::table! {
    closure_patrols (id) {
        id -> Text,
        mine_id -> Text,
        outcome -> Text,
        note -> Text,
        patrolled_on -> Date,
        lon -> Nullable<Double>,
        lat -> Nullable<Double>,
        photo_name -> Nullable<Text>,
        photo_type -> Nullable<Text>,
        photo -> Nullable<Binary>,
        lead_id -> Nullable<Text>,
        patrolled_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    closure_tallies (kind, department, state) {
        kind -> Text,
        department -> Text,
        state -> Text,
        n -> BigInt,
        days -> BigInt,
    }
}

diesel::table! {
    closure_due_tallies (department, month) {
        department -> Text,
        month -> Text,
        n -> BigInt,
    }
}

diesel::joinable!(closure_tasks -> closure_cases (case_id));
diesel::joinable!(closure_files -> closure_cases (case_id));
diesel::joinable!(closure_acceptances -> closure_cases (case_id));
diesel::joinable!(closure_acceptance_units -> closure_acceptances (acceptance_id));
