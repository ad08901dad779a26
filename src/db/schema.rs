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
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        entity_type -> Text,
        entity_id -> Text,
        action -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        last_seq -> BigInt,
        last_hash -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    departments,
    townships,
    lead_categories,
    permit_types,
    users,
    audit_log,
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
