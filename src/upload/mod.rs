//! The `upload.file` / `upload.replace` parameter model, shared by every transport.
//!
//! An [`UploadFile`] holds the file's source and the method's parameters apart: the parameters
//! become a [`Call`] (signed like any other), the file travels beside it and is never part of the
//! signature, by construction.
//!
//! ```
//! use ipernity::upload::{Geo, License, Orientation, Safety, UploadFile, Visibility};
//! let upload = UploadFile::from_bytes("car.jpg", b"\xff\xd8\xff...".to_vec())
//!     .title("Nice car")
//!     .keywords(["car", "red"])
//!     .license(License::AttributionShareAlike)
//!     .visibility(Visibility::Public)
//!     .safety(Safety::AllAudiences)
//!     .geo(Geo::at(48.85, 2.35))
//!     .orientation(Orientation::Up);
//! let call = upload.call().unwrap();
//! assert_eq!(call.method(), "upload.file");
//! assert_eq!(call.params().get("license"), Some("9"));
//! assert!(!call.params().contains("file"));
//! ```

use std::fmt;
use std::path::PathBuf;

use crate::call::{Call, ParamValue, Params};
pub use crate::codes::{Audience, License, Orientation, Safety};
use crate::error::Error;

/// Who sees the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Only the owner.
    Private,
    /// Family.
    Family,
    /// Friends.
    Friends,
    /// Family and friends.
    FamilyAndFriends,
    /// Everybody.
    Public,
}

impl Visibility {
    /// `is_public`, `is_family`, `is_friend`.
    fn flags(self) -> (bool, bool, bool) {
        match self {
            Visibility::Private => (false, false, false),
            Visibility::Family => (false, true, false),
            Visibility::Friends => (false, false, true),
            Visibility::FamilyAndFriends => (false, true, true),
            Visibility::Public => (true, false, false),
        }
    }
}

/// Where the document was taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Geo {
    /// Latitude and longitude in decimal degrees (checked before sending).
    At {
        /// Latitude, -90 to 90.
        lat: f64,
        /// Longitude, -180 to 180.
        lng: f64,
    },
    /// No location, even if the file's EXIF has one (sent as -999/-999).
    None,
}

impl Geo {
    /// A location.
    pub fn at(lat: f64, lng: f64) -> Geo {
        Geo::At { lat, lng }
    }
}

/// When the document was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatedAt {
    /// Seconds since the Unix epoch.
    Timestamp(u64),
    /// `YYYY-MM-DD HH:MM:SS` (checked before sending).
    Text(String),
}

/// Where the file's bytes come from.
pub enum FileSource {
    /// A file on disk, streamed when sent.
    Path(PathBuf),
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// Any reader of a known length.
    #[cfg(feature = "client")]
    Reader {
        /// The reader.
        reader: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
        /// How many bytes it yields.
        length: u64,
    },
}

impl fmt::Debug for FileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileSource::Path(path) => f.debug_tuple("Path").field(path).finish(),
            FileSource::Bytes(bytes) => f.debug_struct("Bytes").field("len", &bytes.len()).finish(),
            #[cfg(feature = "client")]
            FileSource::Reader { length, .. } => {
                f.debug_struct("Reader").field("length", length).finish()
            }
        }
    }
}

/// One file to upload with `upload.file` (or `upload.replace`), and its parameters.
#[derive(Debug)]
#[must_use]
pub struct UploadFile {
    source: FileSource,
    filename: String,
    replace: Option<u64>,
    params: Params,
    problems: Vec<Error>,
}

impl UploadFile {
    /// A file on disk; its name is the file name sent (never a path on the server).
    pub fn from_path(path: impl Into<PathBuf>) -> UploadFile {
        let path = path.into();
        let filename = path
            .file_name()
            .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
        UploadFile::new(FileSource::Path(path), filename)
    }

    /// Bytes in memory, sent under `filename`.
    pub fn from_bytes(filename: impl Into<String>, bytes: Vec<u8>) -> UploadFile {
        UploadFile::new(FileSource::Bytes(bytes), filename.into())
    }

    /// Any reader that yields exactly `length` bytes, sent under `filename`.
    #[cfg(feature = "client")]
    pub fn from_reader(
        filename: impl Into<String>,
        reader: impl tokio::io::AsyncRead + Send + Unpin + 'static,
        length: u64,
    ) -> UploadFile {
        UploadFile::new(
            FileSource::Reader {
                reader: Box::new(reader),
                length,
            },
            filename.into(),
        )
    }

    fn new(source: FileSource, filename: String) -> UploadFile {
        UploadFile {
            source,
            filename,
            replace: None,
            params: Params::new(),
            problems: Vec::new(),
        }
    }

    fn set(mut self, name: &str, value: impl ParamValue) -> Self {
        self.params.insert(name, value);
        self
    }

    /// Replaces the file of document `doc_id` (`upload.replace`) instead of creating a document.
    pub fn replacing(mut self, doc_id: u64) -> Self {
        self.replace = Some(doc_id);
        self
    }

    /// The document's title.
    pub fn title(self, title: impl Into<String>) -> Self {
        self.set("title", title.into())
    }

    /// The description (some HTML allowed).
    pub fn description(self, description: impl Into<String>) -> Self {
        self.set("description", description.into())
    }

    /// The creation date, overriding the file's EXIF.
    pub fn created_at(mut self, created: CreatedAt) -> Self {
        match created {
            CreatedAt::Timestamp(seconds) => self.set("created_at", seconds),
            CreatedAt::Text(text) => {
                if !is_datetime(&text) {
                    self.problems.push(Error::invalid_param(
                        "created_at",
                        format!("{text:?} is not YYYY-MM-DD HH:MM:SS"),
                    ));
                }
                self.set("created_at", text)
            }
        }
    }

    /// The license.
    pub fn license(self, license: License) -> Self {
        self.set("license", license)
    }

    /// Who sees the document (sets `is_public`, `is_family` and `is_friend` together).
    pub fn visibility(self, visibility: Visibility) -> Self {
        let (public, family, friend) = visibility.flags();
        self.set("is_public", public)
            .set("is_family", family)
            .set("is_friend", friend)
    }

    /// `is_public` alone.
    pub fn is_public(self, public: bool) -> Self {
        self.set("is_public", public)
    }

    /// `is_family` alone.
    pub fn is_family(self, family: bool) -> Self {
        self.set("is_family", family)
    }

    /// `is_friend` alone.
    pub fn is_friend(self, friend: bool) -> Self {
        self.set("is_friend", friend)
    }

    /// The safety level.
    pub fn safety(self, safety: Safety) -> Self {
        self.set("safety", safety)
    }

    /// Keyword tags, sent comma-separated.
    pub fn keywords<S: AsRef<str>>(mut self, keywords: impl IntoIterator<Item = S>) -> Self {
        let joined: Vec<String> = keywords
            .into_iter()
            .map(|k| k.as_ref().trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        if joined.iter().any(|k| k.contains(',')) {
            self.problems.push(Error::invalid_param(
                "keywords",
                "a keyword cannot contain a comma",
            ));
        }
        self.set("keywords", joined.join(","))
    }

    /// Adds the new document to this album.
    pub fn album_id(self, album_id: u64) -> Self {
        self.set("album_id", album_id)
    }

    /// Members to tag, sent comma-separated.
    pub fn member_ids(self, ids: impl IntoIterator<Item = u64>) -> Self {
        let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
        self.set("member_ids", ids.join(","))
    }

    /// Who may comment.
    pub fn perm_comment(self, audience: Audience) -> Self {
        self.set("perm_comment", audience)
    }

    /// Who may add tags.
    pub fn perm_tag(self, audience: Audience) -> Self {
        self.set("perm_tag", audience)
    }

    /// Who may add a member tag.
    pub fn perm_tagme(self, audience: Audience) -> Self {
        self.set("perm_tagme", audience)
    }

    /// The location, or `Geo::None` to drop the file's own.
    pub fn geo(mut self, geo: Geo) -> Self {
        match geo {
            Geo::None => self.set("lat", -999i32).set("lng", -999i32),
            Geo::At { lat, lng } => {
                if !(-90.0..=90.0).contains(&lat) {
                    self.problems.push(Error::invalid_param(
                        "lat",
                        format!("{lat} is outside -90..90"),
                    ));
                }
                if !(-180.0..=180.0).contains(&lng) {
                    self.problems.push(Error::invalid_param(
                        "lng",
                        format!("{lng} is outside -180..180"),
                    ));
                }
                self.set("lat", lat).set("lng", lng)
            }
        }
    }

    /// The orientation override.
    pub fn orientation(self, orientation: Orientation) -> Self {
        self.set("dir", orientation)
    }

    /// `async=1` (the default of the API: answer with a ticket at once) or `async=0` (answer once
    /// the document is ready).
    pub fn asynchronous(self, asynchronous: bool) -> Self {
        self.set("async", asynchronous)
    }

    /// The file name sent with the file.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The file's length, when it is known without reading it (bytes, readers, and files whose
    /// metadata can be read).
    pub fn length(&self) -> Result<u64, Error> {
        match &self.source {
            FileSource::Bytes(bytes) => Ok(u64::try_from(bytes.len()).unwrap_or(u64::MAX)),
            FileSource::Path(path) => std::fs::metadata(path)
                .map(|m| m.len())
                .map_err(|e| Error::invalid_param("file", format!("{}: {e}", path.display()))),
            #[cfg(feature = "client")]
            FileSource::Reader { length, .. } => Ok(*length),
        }
    }

    /// Checks everything that can be checked before sending: the parameters, and a file that is
    /// empty (the service's error 1) or larger than `max_size` when the quota is known (error 2).
    pub fn validate(&self, max_size: Option<u64>) -> Result<u64, Error> {
        if let Some(problem) = self.problems.first() {
            return Err(match problem {
                Error::InvalidParam { param, reason, .. } => Error::InvalidParam {
                    method: Some(self.method_name()),
                    param: param.clone(),
                    reason: reason.clone(),
                },
                other => Error::invalid_param_of(self.method_name(), "upload", other.to_string()),
            });
        }
        let length = self.length()?;
        if length == 0 {
            return Err(Error::invalid_param_of(
                self.method_name(),
                "file",
                "the file is empty (the service answers error 1)",
            ));
        }
        if let Some(max) = max_size
            && length > max
        {
            return Err(Error::invalid_param_of(
                self.method_name(),
                "file",
                format!(
                    "{length} bytes is more than the {max} the quota allows (the service answers error 2)"
                ),
            ));
        }
        Ok(length)
    }

    /// `upload.replace` when replacing a document, `upload.file` otherwise.
    pub fn method_name(&self) -> &'static str {
        match self.replace {
            Some(_) => "upload.replace",
            None => "upload.file",
        }
    }

    /// The call to sign: `upload.file` (or `upload.replace` with `doc_id`) with every parameter,
    /// and no file.
    pub fn call(&self) -> Result<Call, Error> {
        self.validate(None)?;
        let mut params = self.params.clone();
        let method = match self.replace {
            Some(doc_id) => {
                params.insert("doc_id", doc_id);
                "upload.replace"
            }
            None => "upload.file",
        };
        Ok(Call::with_params(method, params))
    }

    /// The file's source, to send.
    pub fn into_source(self) -> FileSource {
        self.source
    }
}

/// `YYYY-MM-DD HH:MM:SS` with plausible field ranges.
fn is_datetime(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    let field = |range: std::ops::Range<usize>| {
        text.get(range)
            .and_then(|f| f.parse::<u32>().ok())
            .unwrap_or(99)
    };
    shape
        && (1..=12).contains(&field(5..7))
        && (1..=31).contains(&field(8..10))
        && field(11..13) < 24
        && field(14..16) < 60
        && field(17..19) < 61
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes() -> UploadFile {
        UploadFile::from_bytes("a.jpg", vec![1, 2, 3])
    }

    fn invalid_name(result: Result<Call, Error>) -> String {
        match result {
            Err(Error::InvalidParam { param, .. }) => param,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_parameter_travels_with_its_wire_code() {
        let call = bytes()
            .title("t")
            .description("d")
            .created_at(CreatedAt::Text("2024-02-29 13:14:15".into()))
            .license(License::Copyleft)
            .visibility(Visibility::FamilyAndFriends)
            .safety(Safety::Restricted)
            .keywords(["a", " b ", ""])
            .album_id(7)
            .member_ids([1, 2])
            .perm_comment(Audience::Everybody)
            .perm_tag(Audience::Contacts)
            .perm_tagme(Audience::OnlyYou)
            .geo(Geo::None)
            .orientation(Orientation::Right)
            .asynchronous(false)
            .call()
            .unwrap();
        let expected = [
            ("album_id", "7"),
            ("async", "0"),
            ("created_at", "2024-02-29 13:14:15"),
            ("description", "d"),
            ("dir", "8"),
            ("is_family", "1"),
            ("is_friend", "1"),
            ("is_public", "0"),
            ("keywords", "a,b"),
            ("lat", "-999"),
            ("license", "255"),
            ("lng", "-999"),
            ("member_ids", "1,2"),
            ("perm_comment", "5"),
            ("perm_tag", "4"),
            ("perm_tagme", "0"),
            ("safety", "3"),
            ("title", "t"),
        ];
        assert_eq!(call.params().iter().collect::<Vec<_>>(), expected);
        assert_eq!(call.method(), "upload.file");
        let replace = bytes().replacing(42).call().unwrap();
        assert_eq!(
            (replace.method(), replace.params().get("doc_id")),
            ("upload.replace", Some("42"))
        );
    }

    #[test]
    fn bad_values_are_refused_before_sending_naming_the_parameter() {
        assert_eq!(invalid_name(bytes().geo(Geo::at(91.0, 0.0)).call()), "lat");
        assert_eq!(
            invalid_name(bytes().geo(Geo::at(0.0, -180.5)).call()),
            "lng"
        );
        assert!(bytes().geo(Geo::at(-90.0, 180.0)).call().is_ok());
        assert_eq!(
            invalid_name(
                bytes()
                    .created_at(CreatedAt::Text("2024-13-01 00:00:00".into()))
                    .call()
            ),
            "created_at"
        );
        assert_eq!(invalid_name(bytes().keywords(["a,b"]).call()), "keywords");
        assert_eq!(
            invalid_name(UploadFile::from_bytes("e", Vec::new()).call()),
            "file"
        );
        assert!(
            matches!(Orientation::from_code(2), Err(Error::InvalidParam { param, .. }) if param == "dir")
        );
        assert_eq!(Orientation::from_code(6).unwrap(), Orientation::Left);
        assert!(
            matches!(License::from_code(2), Err(Error::InvalidParam { param, .. }) if param == "license")
        );
        assert_eq!(
            License::from_code(11).unwrap(),
            License::AttributionNonCommercialShareAlike
        );
        let too_big = bytes().validate(Some(2)).unwrap_err();
        assert!(too_big.to_string().contains("error 2"), "{too_big}");
        assert!(
            UploadFile::from_path("/nonexistent/file.jpg")
                .validate(None)
                .is_err()
        );
    }

    #[test]
    fn the_file_is_never_a_parameter() {
        let call = bytes().title("t").call().unwrap();
        assert!(!call.params().contains("file"));
        assert_eq!(bytes().filename(), "a.jpg");
        assert_eq!(
            UploadFile::from_path("/tmp/dir/photo.jpg").filename(),
            "photo.jpg"
        );
    }
}
