//! What a desk may see: the profile it is allowed to ask for.
//!
//! The holder chooses what to disclose, but a desk must not accept more than its
//! purpose needs: a rental clerk who is shown the full profile (address, birth
//! date, file number) would see data the law does not let a rental desk keep. So a
//! verified presentation of another profile is refused, and its fields are never shown.

use credential::Profile;

/// A desk and the profiles it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Desk {
    /// A traffic officer: every profile, including the full one.
    Officer,
    /// A desk that accepts exactly one profile.
    Only(Profile),
}

impl Desk {
    /// From `officer`, `rental`, `insurance` or `employment`.
    pub fn parse(name: &str) -> Option<Desk> {
        match name {
            "officer" => Some(Desk::Officer),
            "full" => None,
            other => Profile::parse(other).map(Desk::Only),
        }
    }

    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Desk::Officer => "officer",
            Desk::Only(profile) => profile.name(),
        }
    }

    /// Whether a presentation of `profile` may be shown here.
    pub fn allows(self, profile: Profile) -> bool {
        match self {
            Desk::Officer => true,
            Desk::Only(allowed) => allowed == profile,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rental_desk_refuses_the_full_profile_and_an_officer_takes_all() {
        let rental = Desk::parse("rental");
        assert_eq!(rental, Some(Desk::Only(Profile::Rental)));
        let rental = rental.into_iter().next().unwrap_or(Desk::Officer);
        assert!(rental.allows(Profile::Rental));
        assert!(!rental.allows(Profile::Full));
        assert!(!rental.allows(Profile::Insurance));
        assert!(Profile::ALL.iter().all(|p| Desk::Officer.allows(*p)));
        assert_eq!(
            Desk::parse("full"),
            None,
            "the full profile is the officer desk"
        );
        assert_eq!(Desk::parse("bank"), None);
    }
}
