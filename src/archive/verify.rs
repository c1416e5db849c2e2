//! `Archive::verify`: every original re-read against its recorded MD5, every sidecar parsed,
//! every album's documents and every folder's albums present.

use std::collections::{HashMap, HashSet};
use std::fmt;

use futures_util::StreamExt;
use md5::Digest;

use super::layout::{self, ACCOUNT, Account, AlbumSidecar, DocFile, DocSidecar, FolderSidecar};
use super::store::Archive;
use super::{ArchiveError, hex_md5};

/// One thing wrong with an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A file that should be there is not.
    Missing {
        /// The file.
        key: String,
        /// Who needs it.
        why: String,
    },
    /// A file is there but wrong (does not parse, or an original's MD5 differs).
    Corrupt {
        /// The file.
        key: String,
        /// What is wrong.
        why: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { key, why } => write!(f, "missing {key}: {why}"),
            Problem::Corrupt { key, why } => write!(f, "corrupt {key}: {why}"),
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Documents whose sidecar and original were checked.
    pub documents: u64,
    /// Bytes of originals re-read.
    pub bytes: u64,
    /// Albums checked.
    pub albums: u64,
    /// Folders checked.
    pub folders: u64,
    /// Originals stored without a sidecar (a backup was stopped before it wrote it; the next
    /// run completes them). Not a problem.
    pub unfinished: u64,
    /// What is missing or corrupt, sorted by file.
    pub problems: Vec<Problem>,
}

impl Archive {
    /// Re-reads every original against its recorded MD5 (`jobs` at a time), parses every
    /// sidecar, and checks that every album's documents and every folder's albums are there.
    ///
    /// # Errors
    ///
    /// An [`ArchiveError`] only when the archive cannot be listed or read at all; what is
    /// wrong with its files is in [`VerifyReport::problems`].
    pub async fn verify(&self, jobs: usize) -> Result<VerifyReport, ArchiveError> {
        let mut report = VerifyReport::default();
        let mut sidecars = Vec::new();
        let mut originals: HashMap<u64, Vec<String>> = HashMap::new();
        for listed in self.list("docs").await? {
            match layout::doc_file(&listed.key) {
                Some(DocFile::Sidecar(id)) => sidecars.push(id),
                Some(DocFile::Original(id, ext)) => {
                    originals.entry(id).or_default().push(ext.to_owned())
                }
                None => {}
            }
        }
        sidecars.sort_unstable();
        let with_sidecar: HashSet<u64> = sidecars.iter().copied().collect();
        report.unfinished = originals
            .keys()
            .filter(|id| !with_sidecar.contains(id))
            .count() as u64;
        let mut checks = futures_util::stream::iter(sidecars.iter().map(|&id| {
            let stored = originals.get(&id).cloned().unwrap_or_default();
            async move { self.check_doc(id, &stored).await }
        }))
        .buffer_unordered(jobs.max(1));
        while let Some(checked) = checks.next().await {
            let (bytes, problems) = checked?;
            report.documents += 1;
            report.bytes += bytes;
            report.problems.extend(problems);
        }
        drop(checks);

        let mut albums = HashSet::new();
        for listed in self.list("albums").await? {
            let Some(id) = layout::json_id(&listed.key, "albums") else {
                continue;
            };
            report.albums += 1;
            albums.insert(id);
            let Some(bytes) = self.read(&listed.key).await? else {
                continue;
            };
            match serde_json::from_slice::<AlbumSidecar>(&bytes) {
                Err(e) => report.problems.push(Problem::Corrupt {
                    key: listed.key.clone(),
                    why: e.to_string(),
                }),
                Ok(album) => {
                    for doc in album.docs {
                        if !with_sidecar.contains(&doc) {
                            report.problems.push(Problem::Missing {
                                key: layout::doc_key(doc),
                                why: format!("album {id} holds document {doc}"),
                            });
                        }
                    }
                }
            }
        }
        for listed in self.list("folders").await? {
            let Some(id) = layout::json_id(&listed.key, "folders") else {
                continue;
            };
            report.folders += 1;
            let Some(bytes) = self.read(&listed.key).await? else {
                continue;
            };
            match serde_json::from_slice::<FolderSidecar>(&bytes) {
                Err(e) => report.problems.push(Problem::Corrupt {
                    key: listed.key.clone(),
                    why: e.to_string(),
                }),
                Ok(folder) => {
                    for album in folder.albums {
                        if !albums.contains(&album) {
                            report.problems.push(Problem::Missing {
                                key: layout::album_key(album),
                                why: format!("folder {id} holds album {album}"),
                            });
                        }
                    }
                }
            }
        }
        match self.read(ACCOUNT).await? {
            None => report.problems.push(Problem::Missing {
                key: ACCOUNT.to_owned(),
                why: "every finished backup writes it".to_owned(),
            }),
            Some(bytes) => {
                if let Err(e) = serde_json::from_slice::<Account>(&bytes) {
                    report.problems.push(Problem::Corrupt {
                        key: ACCOUNT.to_owned(),
                        why: e.to_string(),
                    });
                }
            }
        }
        report
            .problems
            .sort_by(|a, b| problem_key(a).cmp(problem_key(b)));
        report.problems.dedup();
        Ok(report)
    }

    /// One document: its sidecar parses, its original is there with the recorded MD5.
    async fn check_doc(
        &self,
        id: u64,
        stored: &[String],
    ) -> Result<(u64, Vec<Problem>), ArchiveError> {
        let key = layout::doc_key(id);
        let Some(bytes) = self.read(&key).await? else {
            return Ok((
                0,
                vec![Problem::Missing {
                    key,
                    why: "listed, then gone".to_owned(),
                }],
            ));
        };
        let sidecar = match serde_json::from_slice::<DocSidecar>(&bytes) {
            Ok(sidecar) => sidecar,
            Err(e) => {
                return Ok((
                    0,
                    vec![Problem::Corrupt {
                        key,
                        why: e.to_string(),
                    }],
                ));
            }
        };
        let saved = sidecar.backup;
        let original = layout::original_key(id, &saved.ext);
        if !stored.contains(&saved.ext) {
            return Ok((
                0,
                vec![Problem::Missing {
                    key: original,
                    why: format!("{key} records it"),
                }],
            ));
        }
        let mut stream = self.read_stream(&original).await?;
        let mut hasher = md5::Md5::new();
        let mut bytes = 0u64;
        while let Some(piece) = stream.next().await {
            let piece = piece?;
            bytes += piece.len() as u64;
            hasher.update(&piece);
        }
        let found = hex_md5(hasher);
        if found != saved.md5 {
            return Ok((
                bytes,
                vec![Problem::Corrupt {
                    key: original,
                    why: format!("md5 {found}, {key} records {}", saved.md5),
                }],
            ));
        }
        Ok((bytes, Vec::new()))
    }
}

fn problem_key(problem: &Problem) -> &str {
    match problem {
        Problem::Missing { key, .. } | Problem::Corrupt { key, .. } => key,
    }
}
