//! Pure rules shared by every capability (working days, durations, roles, the password
//! policy), free of the database and HTTP, and the `coded_enum!` macro the capabilities'
//! rules use for their coded types.

/// An enum with stable codes for programs and Chinese labels for people.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal : $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code),+ } }
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),+ } }
            pub fn parse(code: &str) -> Option<Self> { Self::ALL.iter().copied().find(|v| v.code() == code) }
            /// "a、b、c" of the codes, for error messages.
            pub fn codes() -> String { Self::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join("、") }
        }
    };
}

pub(crate) use coded_enum;

pub mod calendar;
pub mod chart;
pub mod dates;
pub mod duration;
pub mod email;
pub mod histogram;
pub mod ics;
pub mod map;
pub mod password;
pub mod role;
pub mod search;
