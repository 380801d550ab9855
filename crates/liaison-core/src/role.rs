//! Roles and the place in the organisation an account is bound to.

use crate::org::coded_enum;
use serde::{Deserialize, Serialize};

coded_enum!(
    /// What an account may do. One account has one role; a person with two jobs has two accounts
    /// (this keeps the three separated administrators truly separate).
    Role {
        SystemAdmin => ("system_admin", "系统管理员"),
        SecurityAdmin => ("security_admin", "安全管理员"),
        AuditAdmin => ("audit_admin", "审计管理员"),
        CityStaff => ("city_staff", "市级工作人员"),
        CountyStaff => ("county_staff", "县级工作人员"),
        TownshipStaff => ("township_staff", "乡镇（街道）工作人员"),
        StationStaff => ("station_staff", "联络站工作人员"),
        Deputy => ("deputy", "人大代表"),
        UnitOfficer => ("unit_officer", "承办单位经办人"),
        UnitLead => ("unit_lead", "承办单位负责人"),
        GridWorker => ("grid_worker", "网格员"),
        Citizen => ("citizen", "群众"),
    }
);

/// What kind of place a role is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeKind {
    /// Bound to nothing: the whole installation (administrators) or only one's own items (citizens).
    None,
    /// Bound to a region and everything below it.
    Region,
    /// Bound to one station.
    Station,
    /// Bound to one handling unit.
    Unit,
    /// Bound to one deputy record.
    Deputy,
}

impl Role {
    /// The kind of scope an account of this role must be given.
    pub fn scope_kind(self) -> ScopeKind {
        match self {
            Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin | Role::Citizen => {
                ScopeKind::None
            }
            Role::CityStaff | Role::CountyStaff | Role::TownshipStaff => ScopeKind::Region,
            // A grid worker belongs to the station of their grid: opinions they record go there.
            Role::StationStaff | Role::GridWorker => ScopeKind::Station,
            Role::Deputy => ScopeKind::Deputy,
            Role::UnitOfficer | Role::UnitLead => ScopeKind::Unit,
        }
    }

    /// The region level a region-scoped role must be bound to.
    pub fn region_level(self) -> Option<crate::org::RegionLevel> {
        use crate::org::RegionLevel;
        match self {
            Role::CityStaff => Some(RegionLevel::City),
            Role::CountyStaff => Some(RegionLevel::County),
            Role::TownshipStaff => Some(RegionLevel::Township),
            _ => None,
        }
    }

    /// Staff who work with the organisation's business data (stations, deputies, units).
    pub fn is_business_staff(self) -> bool {
        matches!(
            self,
            Role::CityStaff | Role::CountyStaff | Role::TownshipStaff | Role::StationStaff
        )
    }

    /// Whether this role may edit the organisation records (regions, stations, deputies, units,
    /// grids) inside its scope.
    pub fn may_edit_organisation(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin | Role::CityStaff | Role::CountyStaff | Role::TownshipStaff
        )
    }

    /// Whether this role may manage accounts (create, reset, lock).
    pub fn may_manage_accounts(self) -> bool {
        matches!(self, Role::SystemAdmin | Role::SecurityAdmin)
    }

    /// The audit log is for the audit administrator alone (三员分立).
    pub fn may_read_audit(self) -> bool {
        matches!(self, Role::AuditAdmin)
    }

    /// One of the three separated administrators (三员: system, security, audit). Their
    /// accounts are created, reset, locked and unlocked only on the server's command line
    /// (`liaison user …`), never by another administrator in the browser: an account
    /// administrator who could reset the auditor's password could read the audit log of their
    /// own actions.
    pub fn is_separated_admin(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin
        )
    }
}

/// Why the browser refuses to manage an administrator account.
pub const SEPARATED_ADMIN_REFUSAL: &str = "系统管理员、安全管理员和审计管理员账号（三员）只能由运维人员在服务器上用命令管理（liaison user create|reset|lock|unlock），不能在网页上创建、重置或锁定，以保证三员分立。";
