//! The one scoping rule: what part of the organisation a signed-in user may see.
//!
//! Every list and every single-record read of every module asks [`Principal::scope`] and hands the
//! answer to the storage layer's filter (`liaison_db::sql::Sql::scope_filter`), so no module decides
//! visibility on its own.

use crate::role::Role;
use serde::{Deserialize, Serialize};

/// The signed-in user as the rest of the system sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Account id.
    pub user_id: i64,
    /// Login name.
    pub username: String,
    /// Name shown on screen.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Region the account is bound to (region-scoped roles), with its materialised path.
    pub region: Option<(i64, String)>,
    /// Station the account is bound to (station staff).
    pub station_id: Option<i64>,
    /// Handling unit the account is bound to (unit officers and leads).
    pub unit_id: Option<i64>,
    /// Deputy record the account is bound to (deputies).
    pub deputy_id: Option<i64>,
    /// Whether the holder must set a new password before doing anything else.
    pub must_change_password: bool,
}

/// The part of the organisation a principal may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Everything (the system administrator, for organisation records).
    Everything,
    /// A region and everything below it; the string is the region's path, e.g. `/1/2/15/`.
    RegionSubtree(String),
    /// One station and its rooms/points.
    Station(i64),
    /// One handling unit.
    Unit(i64),
    /// One deputy's own records.
    Deputy(i64),
    /// Only the records this account entered (a grid worker sees the opinions they recorded
    /// for citizens, not the rest of the station's).
    EnteredBy(i64),
    /// No business data (security and audit administrators, citizens).
    Nothing,
}

impl Principal {
    /// The scope of this principal over business data.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::SystemAdmin => Scope::Everything,
            Role::CityStaff | Role::CountyStaff | Role::TownshipStaff => match &self.region {
                Some((_, path)) => Scope::RegionSubtree(path.clone()),
                None => Scope::Nothing,
            },
            Role::StationStaff => self.station_id.map_or(Scope::Nothing, Scope::Station),
            Role::GridWorker => match self.station_id {
                Some(_) => Scope::EnteredBy(self.user_id),
                None => Scope::Nothing,
            },
            Role::UnitOfficer | Role::UnitLead => self.unit_id.map_or(Scope::Nothing, Scope::Unit),
            Role::Deputy => self.deputy_id.map_or(Scope::Nothing, Scope::Deputy),
            Role::SecurityAdmin | Role::AuditAdmin | Role::Citizen => Scope::Nothing,
        }
    }

    /// Whether the principal may edit organisation records inside its scope.
    pub fn may_edit_organisation(&self) -> bool {
        self.role.may_edit_organisation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            display_name: "U".into(),
            role,
            region: Some((5, "/1/2/5/".into())),
            station_id: Some(9),
            unit_id: Some(3),
            deputy_id: Some(4),
            must_change_password: false,
        }
    }

    #[test]
    fn each_role_gets_the_scope_of_its_binding() {
        assert_eq!(p(Role::SystemAdmin).scope(), Scope::Everything);
        assert_eq!(
            p(Role::CountyStaff).scope(),
            Scope::RegionSubtree("/1/2/5/".into())
        );
        assert_eq!(p(Role::StationStaff).scope(), Scope::Station(9));
        assert_eq!(p(Role::UnitLead).scope(), Scope::Unit(3));
        assert_eq!(p(Role::Deputy).scope(), Scope::Deputy(4));
        assert_eq!(p(Role::GridWorker).scope(), Scope::EnteredBy(1));
        for r in [Role::SecurityAdmin, Role::AuditAdmin, Role::Citizen] {
            assert_eq!(p(r).scope(), Scope::Nothing, "{r}");
        }
    }

    #[test]
    fn a_region_role_without_a_region_sees_nothing() {
        let mut x = p(Role::TownshipStaff);
        x.region = None;
        assert_eq!(x.scope(), Scope::Nothing);
    }
}
