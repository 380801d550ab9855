//! Receiving an opinion, the same way from every door: the public form, proxy entry by staff,
//! the JSON API and Open311. Validation (with Chinese messages that name the limit), rate limits
//! per address and per phone, classification, segmentation for search, then one audited
//! transaction in `liaison_db::opinions::create`.

use crate::AppState;
use liaison_core::validate::{self, FieldError, Phone};
use liaison_db::audit::Actor;
use liaison_db::directory;
use liaison_db::opinions::{self, Created, NewOpinion};

/// Longest opinion text, in characters.
pub const BODY_MAX: usize = 3000;
/// Longest title.
pub const TITLE_MAX: usize = 50;
/// Most photos per opinion.
pub const PHOTOS_MAX: usize = 6;

/// What arrived, before validation.
#[derive(Debug, Clone, Default)]
pub struct IntakeInput {
    /// Station code (联络站码).
    pub station_code: Option<String>,
    /// Deputy code (代表码).
    pub deputy_code: Option<String>,
    /// Title (optional).
    pub title: String,
    /// What happened (required).
    pub body: String,
    /// Where.
    pub place: String,
    /// Submitter's name.
    pub name: String,
    /// Submitter's mobile.
    pub phone: String,
    /// Anonymous.
    pub anonymous: bool,
    /// Confidential.
    pub confidential: bool,
    /// May be published.
    pub publishable: bool,
    /// Channel code.
    pub channel: String,
    /// Urgent (staff only).
    pub urgent: bool,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// Raw photo files.
    pub photos: Vec<Vec<u8>>,
    /// Staff member entering it for a citizen.
    pub entered_by: Option<i64>,
    /// The activity it was collected at (checked by the caller).
    pub activity_id: Option<i64>,
    /// The caller has already counted this submission against the per-address limit (the
    /// public form does so before it reads a body of up to 20 MB).
    pub rate_checked: bool,
}

/// Why an intake failed.
#[derive(Debug)]
pub enum IntakeError {
    /// Field errors (Chinese), to show next to the fields.
    Fields(Vec<FieldError>),
    /// Too many submissions from this address or phone.
    RateLimited(String),
    /// Storage failed.
    Db(liaison_db::DbError),
}

impl From<liaison_db::DbError> for IntakeError {
    fn from(e: liaison_db::DbError) -> Self {
        IntakeError::Db(e)
    }
}

/// Validates and stores an opinion. `ip` is the client address for rate limiting and audit.
pub async fn submit(
    state: &AppState,
    actor: &Actor,
    ip: &str,
    input: IntakeInput,
) -> Result<Created, IntakeError> {
    if input.entered_by.is_none() && !input.rate_checked && state.limits.public_blocked(ip) {
        return Err(IntakeError::RateLimited(
            "您提交得太频繁了，请一分钟后再试。如有紧急情况，请直接拨打联络站电话。".into(),
        ));
    }
    let mut errs = Vec::new();
    let body =
        validate::required_text("body", "反映内容", &input.body, BODY_MAX).unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let mut title = validate::optional_text("title", "标题", &input.title, TITLE_MAX)
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let place = validate::optional_text("place", "地点", &input.place, 100).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let name = validate::optional_text("name", "姓名", &input.name, 30).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let phone = match input.phone.trim() {
        "" if input.anonymous => String::new(),
        "" => {
            errs.push(FieldError::new(
                "phone",
                "请填写手机号，以便答复和回访；不愿留联系方式可勾选“匿名反映”（匿名反映无法查询进度和评价）",
            ));
            String::new()
        }
        p => Phone::parse("phone", p)
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|e| {
                errs.push(e);
                String::new()
            }),
    };
    // Only when nothing was typed: a name that is too long has its own message already.
    if !input.anonymous && input.name.trim().is_empty() {
        errs.push(FieldError::new(
            "name",
            "请填写姓名；不愿留名可勾选“匿名反映”",
        ));
    }
    if input.photos.len() > PHOTOS_MAX {
        errs.push(FieldError::new(
            "photos",
            format!("最多上传{PHOTOS_MAX}张照片，现在是{}张", input.photos.len()),
        ));
    }
    // Decoding and re-encoding (which drops EXIF and GPS data) is CPU work: off the async threads.
    let raw_photos: Vec<Vec<u8>> = input.photos.iter().take(PHOTOS_MAX).cloned().collect();
    let results = tokio::task::spawn_blocking(move || {
        raw_photos
            .iter()
            .map(|raw| liaison_docs::photo::sanitize_photo(raw))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let mut photos = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(p) => photos.push(p),
            Err(e) => errs.push(FieldError::new("photos", format!("第{}张照片：{e}", i + 1))),
        }
    }
    if let Some(key) = &input.idempotency_key
        && (key.is_empty() || key.len() > 100)
    {
        errs.push(FieldError::new(
            "idempotency_key",
            "Idempotency-Key 须为1至100个字符",
        ));
    }
    // Where it goes: a deputy's code reaches the deputy and the station the deputy is resident
    // at; a station code reaches the station.
    let (station_id, deputy_id) = match (
        input
            .deputy_code
            .as_deref()
            .filter(|c| !c.trim().is_empty()),
        input
            .station_code
            .as_deref()
            .filter(|c| !c.trim().is_empty()),
    ) {
        (Some(dc), _) => match directory::deputy_by_code(&state.db, dc.trim()).await? {
            Some(d) => match d.station_id {
                Some(s) => (Some(s), Some(d.id)),
                None => match fallback_station(state, d.region_id).await? {
                    Some(s) => (Some(s), Some(d.id)),
                    None => {
                        errs.push(FieldError::new(
                            "deputy_code",
                            "该代表尚未进驻联络站，请通过联络站码反映",
                        ));
                        (None, None)
                    }
                },
            },
            None => {
                errs.push(FieldError::new(
                    "deputy_code",
                    "代表码无效，请重新扫描代表二维码",
                ));
                (None, None)
            }
        },
        (None, Some(sc)) => match directory::station_by_code(&state.db, sc.trim()).await? {
            Some(s) => (Some(s.id), None),
            None => {
                errs.push(FieldError::new(
                    "station_code",
                    "联络站码无效，请重新扫描联络站二维码",
                ));
                (None, None)
            }
        },
        (None, None) => {
            errs.push(FieldError::new(
                "station_code",
                "请通过联络站或代表的二维码进入，或指定联络站编码（station_code）",
            ));
            (None, None)
        }
    };
    // Both codes given: they must agree (a deputy's code reaches the deputy's station).
    if let (Some(_), Some(sc), Some(station)) = (
        deputy_id,
        input
            .station_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty()),
        station_id,
    ) && directory::station_by_code(&state.db, sc)
        .await?
        .is_some_and(|s| s.id != station)
    {
        errs.push(FieldError::new(
            "station_code",
            "联络站码与代表码不一致：该代表进驻的是另一个联络站，请只填其中一个",
        ));
    }
    if !errs.is_empty() {
        return Err(IntakeError::Fields(errs));
    }
    if !phone.is_empty() && input.entered_by.is_none() {
        let key = format!("phone:{}", state.keys.blind_index(&phone));
        if state.limits.phone_blocked(&key) {
            return Err(IntakeError::RateLimited(
                "该手机号近期提交的意见已较多，请一小时后再试，或直接联系联络站。".into(),
            ));
        }
    }
    if title.is_empty() {
        title = body
            .chars()
            .take(30)
            .collect::<String>()
            .replace(['\n', '\r'], " ");
    }
    let prediction = state
        .classifier
        .read()
        .expect("classifier lock")
        .predict(&title, &body);
    let search_text =
        liaison_text::search_text::segment_for_index(&format!("{title} {place} {body}"));
    let new = NewOpinion {
        station_id: station_id.unwrap_or_default(),
        deputy_id,
        channel: if input.channel.is_empty() {
            if deputy_id.is_some() {
                "qr_deputy"
            } else {
                "qr_station"
            }
            .to_owned()
        } else {
            input.channel.clone()
        },
        title,
        body,
        place,
        category_suggested: prediction.label_l1.clone(),
        category_confidence: f64::from(prediction.confidence),
        urgency: if input.urgent {
            "urgent".into()
        } else {
            "normal".into()
        },
        name: if input.anonymous { String::new() } else { name },
        phone,
        anonymous: input.anonymous,
        confidential: input.confidential,
        publishable: input.publishable,
        entered_by: input.entered_by,
        activity_id: input.activity_id,
        idempotency_key: input.idempotency_key.clone(),
        search_text,
        photos: photos
            .into_iter()
            .map(|p| {
                (
                    "image/jpeg".to_owned(),
                    i64::from(p.width),
                    i64::from(p.height),
                    p.jpeg,
                )
            })
            .collect(),
    };
    Ok(state.intake.submit(actor.clone(), new).await?)
}

/// A submission waiting for the intake writer, with where to send its result.
type Job = (
    Actor,
    NewOpinion,
    tokio::sync::oneshot::Sender<Result<Created, liaison_db::DbError>>,
);

/// The intake writer: a task that commits the submissions waiting at the moment it is free in
/// one transaction (group commit; one task on SQLite, a few on PostgreSQL, see [`writers`]). Each submitter is answered only after that commit, so a
/// receipt still means the submission is durable; under load, 32 submissions share one commit
/// and one step of the audit chain instead of queueing for the database lock one by one. With
/// one submission at a time it behaves exactly like a direct write.
pub struct Writer {
    db: liaison_db::Db,
    keys: std::sync::Arc<liaison_core::protect::Keys>,
    rules: std::sync::Arc<tokio::sync::RwLock<crate::Rules>>,
    queue: tokio::sync::OnceCell<tokio::sync::mpsc::Sender<Job>>,
}

/// Most submissions committed together.
const BATCH_MAX: usize = 64;

impl Writer {
    /// A writer for this database; its task starts with the first submission.
    pub fn new(
        db: liaison_db::Db,
        keys: std::sync::Arc<liaison_core::protect::Keys>,
        rules: std::sync::Arc<tokio::sync::RwLock<crate::Rules>>,
    ) -> Self {
        Writer {
            db,
            keys,
            rules,
            queue: tokio::sync::OnceCell::new(),
        }
    }

    /// Stores a submission and returns its receipt once it is committed.
    pub async fn submit(
        &self,
        actor: Actor,
        new: NewOpinion,
    ) -> Result<Created, liaison_db::DbError> {
        let queue = self
            .queue
            .get_or_init(|| async {
                let (tx, rx) = tokio::sync::mpsc::channel(BATCH_MAX * 4);
                let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
                for _ in 0..writers(self.db.backend()) {
                    let writer = run_writer(
                        self.db.clone(),
                        self.keys.clone(),
                        self.rules.clone(),
                        rx.clone(),
                    );
                    if self.db.backend() == liaison_db::Backend::Sqlite {
                        own_thread(writer);
                    } else {
                        tokio::spawn(writer);
                    }
                }
                tx
            })
            .await;
        let (answer, result) = tokio::sync::oneshot::channel();
        match queue.send((actor, new, answer)).await {
            Ok(()) => result.await.unwrap_or_else(|_| {
                Err(liaison_db::DbError::Invalid(
                    "服务器正在重启，本次提交未保存，请稍后重新提交".into(),
                ))
            }),
            // The writer has stopped (the server is shutting down): write directly.
            Err(tokio::sync::mpsc::error::SendError((actor, new, _))) => {
                let rules = self.rules.read().await;
                opinions::create(
                    &self.db,
                    &self.keys,
                    &opinions::Rules {
                        calendar: &rules.calendar,
                        sla: &rules.sla,
                        today: opinions::today(),
                    },
                    &actor,
                    &new,
                )
                .await
            }
        }
    }
}

/// How many batches are written at once. SQLite has one writer, so one task. PostgreSQL takes
/// concurrent writers and serialises batches only on the audit chain's head, which a batch
/// takes last, just before its commit: with several tasks one batch's rows are written and
/// flushed while another waits for the head, instead of every round trip queueing behind one.
fn writers(backend: liaison_db::Backend) -> usize {
    match backend {
        liaison_db::Backend::Sqlite => 1,
        liaison_db::Backend::Postgres => 4,
    }
}

/// Runs SQLite's writer on a thread of its own. Its batch is a chain of statements, each a hop
/// to the connection's thread and back; on the shared runtime each hop back may wait until a
/// worker has finished segmenting and classifying another submission. The gain measured was
/// small, 0–10 % (docs/benchmarks.md, twelfth pass). SQLite's connections are threads of their
/// own, not sockets of a runtime, so they serve any runtime.
fn own_thread(writer: impl std::future::Future<Output = ()> + Send + 'static) {
    let started = std::thread::Builder::new()
        .name("intake-writer".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(writer),
                Err(e) => tracing::error!(error = %e, "intake writer could not start"),
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "intake writer thread could not start");
    }
}

async fn run_writer(
    db: liaison_db::Db,
    keys: std::sync::Arc<liaison_core::protect::Keys>,
    rules: std::sync::Arc<tokio::sync::RwLock<crate::Rules>>,
    rx: std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Job>>>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(BATCH_MAX);
    // The lock is held only while taking a batch, so a free task takes what is waiting.
    while rx.lock().await.recv_many(&mut batch, BATCH_MAX).await > 0 {
        let results = {
            let rules = rules.read().await;
            let items: Vec<(&Actor, &NewOpinion)> = batch.iter().map(|(a, n, _)| (a, n)).collect();
            opinions::create_batch(
                &db,
                &keys,
                &opinions::Rules {
                    calendar: &rules.calendar,
                    sla: &rules.sla,
                    today: opinions::today(),
                },
                &items,
            )
            .await
        };
        for ((_, _, answer), result) in batch.drain(..).zip(results) {
            // The submitter may have gone (closed connection); the item is stored all the same.
            let _ = answer.send(result);
        }
    }
}

/// The township (or county) station of a region, for deputies without a resident station.
async fn fallback_station(
    state: &AppState,
    region_id: i64,
) -> Result<Option<i64>, liaison_db::DbError> {
    let region = directory::region(&state.db, region_id).await?;
    let page = directory::list_stations(
        &state.db,
        None,
        &directory::StationFilter {
            region_path: Some(region.path),
            limit: 1,
            ..Default::default()
        },
    )
    .await?;
    Ok(page.items.first().map(|s| s.id))
}
