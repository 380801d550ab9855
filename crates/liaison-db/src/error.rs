//! Errors of the storage layer.

/// What went wrong in storage. Callers map `NotFound` and `Conflict` to user-facing messages;
/// everything else is an internal error whose detail goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No row matched.
    #[error("记录不存在")]
    NotFound,
    /// A unique or foreign-key constraint refused the write.
    #[error("数据冲突：{constraint}")]
    Conflict {
        /// Name of the constraint or column, as the database reports it.
        constraint: String,
    },
    /// Another user changed the record first.
    #[error("该记录已被他人修改，请刷新后重试")]
    Stale,
    /// The database cannot be reached.
    #[error("无法连接数据库 {url}：{reason}。请检查数据库地址、服务是否已启动及账号权限")]
    Connect {
        /// The URL with its password hidden.
        url: String,
        /// The driver's reason.
        reason: String,
    },
    /// An idempotency key came back with a different submission.
    #[error("该 Idempotency-Key 已用于另一条意见；提交新的意见请使用新的键")]
    KeyReused,
    /// A row refers to something that does not exist, or is otherwise invalid.
    #[error("{0}")]
    Invalid(String),
    /// Stored personal data could not be decrypted.
    #[error("个人信息解密失败，请检查主密钥是否正确")]
    Protect(#[from] liaison_core::protect::ProtectError),
    /// Migration failed.
    #[error("数据库迁移失败：{0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other driver error.
    #[error("数据库错误：{0}")]
    Other(#[source] sqlx::Error),
}

/// Result of a storage call.
pub type DbResult<T> = Result<T, DbError>;

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::Database(ref d)
                if d.is_unique_violation() || d.is_foreign_key_violation() =>
            {
                DbError::Conflict {
                    constraint: d
                        .constraint()
                        .map(str::to_owned)
                        .unwrap_or_else(|| d.message().to_owned()),
                }
            }
            // PostgreSQL broke a lock cycle (two people acting on two items that lock each
            // other, e.g. merging A into B and B into A at once): the other one won.
            sqlx::Error::Database(ref d) if d.code().as_deref() == Some("40P01") => DbError::Stale,
            other => DbError::Other(other),
        }
    }
}
