//! A deterministic account family for the emulator (`EmulatorBuilder::seed`, `ipernity serve
//! --seed N`): N documents, small real JPEGs whose EXIF carries a date and often a place, with
//! keyword, machine and member tags, notes, comments, faves and visits; albums of 50 in order
//! with covers, folders of 10 albums; members who list each other; groups with documents; blog
//! posts. The same N gives the same ids, texts and bytes every time.
//!
//! Speed: the picture is encoded once; each document's file is that picture behind an EXIF
//! segment of its own (so every file, and its MD5, differs), written by a few threads at once.

use std::collections::BTreeMap;
use std::path::Path;

use super::media;
use super::records::{
    Closeness, Comment, Commented, Fave, Folder, Group, GroupDoc, Note, Post, User, Visit,
};
use super::state::{
    Album, Doc, Grant, Grants, MemberTag, ServiceState, USER_ID, doc_file, fresh_credential,
};

/// A small deterministic generator (SplitMix64): the same seed, the same family.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        match n {
            0 => 0,
            n => self.next() % n,
        }
    }

    /// Whether an event of `percent` % chance happens.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        let at = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(at).copied().unwrap_or_default()
    }
}

const WORDS: [&str; 24] = [
    "sea", "mountain", "city", "night", "snow", "harbour", "market", "bridge", "forest", "river",
    "garden", "street", "portrait", "cat", "dog", "car", "train", "sunset", "beach", "church",
    "festival", "autumn", "spring", "museum",
];

const PLACES: [(f64, f64); 6] = [
    (48.8566, 2.3522),
    (43.2965, 5.3698),
    (45.764, 4.8357),
    (52.52, 13.405),
    (41.9028, 12.4964),
    (40.4168, -3.7038),
];

const LICENSES: [u8; 8] = [0, 1, 3, 5, 7, 9, 11, 255];

const TOWNS: [&str; 6] = ["Paris", "Marseille", "Lyon", "Berlin", "Rome", "Madrid"];

/// The item at `n`, counting round the list again past its end.
fn cycle<T: Copy + Default>(items: &[T], n: u64) -> T {
    match items.len() {
        0 => T::default(),
        len => items
            .get(usize::try_from(n % len as u64).unwrap_or(0))
            .copied()
            .unwrap_or_default(),
    }
}

/// What a seed made, for the caller to print: the members and their tokens.
#[derive(Debug, Clone)]
pub struct SeededMember {
    /// The member's id.
    pub user_id: u64,
    /// The member's name.
    pub username: String,
    /// A token of the member's, holding every permission.
    pub token: crate::call::Secret,
}

/// The picture every seeded file shares, and where its EXIF goes.
struct Template {
    /// The JPEG without its start-of-image marker.
    body: Vec<u8>,
}

impl Template {
    fn new() -> Template {
        let jpeg = media::sample_jpeg(24, 16, None, None);
        // sample_jpeg puts its EXIF right after the marker: skip both to keep the picture.
        let after_marker = jpeg.get(2..).unwrap_or_default();
        let exif_length = match after_marker {
            [0xFF, 0xE1, high, low, ..] => 2 + usize::from(u16::from_be_bytes([*high, *low])),
            _ => 0,
        };
        Template {
            body: after_marker.get(exif_length..).unwrap_or_default().to_vec(),
        }
    }

    /// The file of a document: the marker, its own EXIF, the shared picture.
    fn file(&self, taken: &str, place: Option<(f64, f64)>) -> Vec<u8> {
        let exif = media::exif_segment_for(Some(taken), place);
        let mut file = Vec::with_capacity(2 + exif.len() + self.body.len());
        file.extend_from_slice(&[0xFF, 0xD8]);
        file.extend_from_slice(&exif);
        file.extend_from_slice(&self.body);
        file
    }
}

/// The instant the seed's dates count back from (2026-01-01T00:00:00Z): a fixed clock, so two
/// seeds of one size are the same to the byte (a document's EXIF date is in its file and md5)
/// whenever and wherever they run.
const SEED_CLOCK: u64 = 1_767_225_600;

/// Adds the family of `documents` documents to `state`, writing their files to `data_dir`.
/// Members' tokens hold `grants` for `api_key`.
///
/// # Errors
///
/// When a file cannot be written or the random source fails (for the members' tokens).
pub(crate) fn seed(
    state: &mut ServiceState,
    data_dir: &Path,
    api_key: &str,
    grants: &Grants,
    documents: usize,
) -> std::io::Result<Vec<SeededMember>> {
    let mut dice = Dice(documents as u64 ^ 0x1BE5_4A11);
    let now = SEED_CLOCK;
    let start = now.saturating_sub(3 * 365 * 86_400);
    let member_count = (documents / 2000).clamp(4, 40) as u64;
    let mut seeded = Vec::new();
    let first_member = state
        .users
        .iter()
        .map(|(id, _)| *id)
        .max()
        .unwrap_or(USER_ID)
        + 1;
    for id in first_member..first_member + member_count {
        let username = format!("member{id}");
        let mut user = User::new(id, &username, &format!("Member {id}"));
        user.joined_at = start;
        user.town = cycle(&TOWNS, id).to_owned();
        state.users.insert(id, user);
        let token = fresh_credential().map_err(|e| std::io::Error::other(e.message))?;
        state.tokens.insert(
            token.clone(),
            Grant {
                api_key: api_key.to_owned(),
                user_id: id,
                grants: grants.clone(),
                oauth_secret: None,
            },
        );
        seeded.push(SeededMember {
            user_id: id,
            username,
            token: crate::call::Secret::new(token),
        });
    }
    let members: Vec<u64> = seeded.iter().map(|m| m.user_id).collect();
    // The network: user 1 lists every member, as a contact, a friend or family; members list
    // user 1 back, and some of each other.
    let relations = [
        (true, false, false),
        (true, true, false),
        (true, false, true),
        (true, true, true),
    ];
    if let Some(owner) = state.users.get_mut(&USER_ID) {
        for (n, member) in members.iter().enumerate() {
            let (contact, friend, family) = cycle(&relations, n as u64);
            owner.network.insert(
                *member,
                Closeness {
                    contact,
                    friend,
                    family,
                },
            );
        }
    }
    for (n, member) in members.iter().enumerate() {
        if let Some(user) = state.users.get_mut(member) {
            user.network.insert(
                USER_ID,
                Closeness {
                    contact: true,
                    friend: n % 2 == 0,
                    family: false,
                },
            );
            if let Some(next) = members.get(n + 1) {
                user.network.insert(
                    *next,
                    Closeness {
                        contact: true,
                        friend: false,
                        family: false,
                    },
                );
            }
        }
    }
    // Documents.
    let template = Template::new();
    let mut files: Vec<(u64, Vec<u8>)> = Vec::with_capacity(documents);
    let mut doc_ids = Vec::with_capacity(documents);
    for n in 0..documents as u64 {
        let id = state.ids.next();
        let owner = match dice.chance(90) {
            true => USER_ID,
            false => members
                .get(usize::try_from(dice.below(members.len() as u64)).unwrap_or(0))
                .copied()
                .unwrap_or(USER_ID),
        };
        let posted_at = start + n * (now - start) / (documents as u64).max(1);
        let taken_at = posted_at.saturating_sub(dice.below(30 * 86_400));
        let taken = date_text(taken_at);
        let place = dice.chance(50).then(|| {
            let (lat, lng) = cycle(&PLACES, dice.next());
            let jitter = |v: f64, d: &mut Dice| v + (d.below(2000) as f64 - 1000.0) / 10_000.0;
            (jitter(lat, &mut dice), jitter(lng, &mut dice))
        });
        let subject = dice.pick(&WORDS);
        let second = dice.pick(&WORDS);
        let mut doc = Doc::new(id, owner, format!("{subject} {n}"));
        doc.description = format!("A {subject} and a {second}, photo {n} of the seeded account.");
        doc.posted_at = posted_at;
        doc.created = taken.clone();
        doc.geo = place;
        let visibility = dice.below(10);
        doc.is_public = visibility < 6;
        doc.is_friend = visibility == 6 || visibility == 8;
        doc.is_family = visibility == 7 || visibility == 8;
        doc.license = cycle(&LICENSES, dice.next());
        doc.safety = if dice.chance(95) { 1 } else { 2 };
        doc.media = "photo".to_owned();
        doc.filename = format!("IMG_{n:06}.jpg");
        (doc.width, doc.height) = (24, 16);
        let bytes = template.file(&taken, place);
        doc.size = bytes.len() as u64;
        doc.md5 = crate::sign::hex(&md5::Digest::finalize(md5::Digest::chain_update(
            md5::Md5::default(),
            &bytes,
        )));
        doc.secret = format!("{:016x}{:016x}", dice.next(), dice.next());
        doc.original_secret = format!("{:016x}{:016x}", dice.next(), dice.next());
        for keyword in [subject, second]
            .into_iter()
            .take(1 + usize::try_from(dice.below(2)).unwrap_or(0))
        {
            let tag = state.ids.next();
            doc.tags.push((tag, keyword.to_owned()));
        }
        if n % 10 == 0 {
            doc.tags
                .push((state.ids.next(), format!("camera:make=seed{}", n % 3)));
        }
        if n % 25 == 0
            && let Some(member) =
                members.get(usize::try_from(n / 25).unwrap_or(0) % members.len().max(1))
        {
            doc.member_tags.push(MemberTag {
                id: state.ids.next(),
                member_id: *member,
                user_id: owner,
            });
        }
        if n % 5 == 0 {
            for member in members.iter().take(1 + usize::try_from(n % 3).unwrap_or(0)) {
                if *member != owner {
                    doc.faves.push(Fave {
                        user_id: *member,
                        faved_at: posted_at + 3600,
                    });
                }
            }
        }
        if n % 3 == 0 {
            doc.visits.push(Visit {
                user_id: None,
                first_visit_at: posted_at,
                visited_at: posted_at + 60,
                visits: 1 + n % 7,
            });
        }
        if n % 7 == 0 {
            let comment = state.ids.next();
            let author = members
                .get(usize::try_from(n % members.len().max(1) as u64).unwrap_or(0))
                .copied()
                .unwrap_or(USER_ID);
            state.comments.insert(
                comment,
                Comment {
                    id: comment,
                    on: Commented::Doc(id),
                    user_id: author,
                    content: format!("Lovely {subject}!"),
                    posted_at: posted_at + 7200,
                    modified_at: 0,
                    parent_id: None,
                },
            );
            if n % 14 == 0 {
                let reply = state.ids.next();
                state.comments.insert(
                    reply,
                    Comment {
                        id: reply,
                        on: Commented::Doc(id),
                        user_id: owner,
                        content: "Thank you.".to_owned(),
                        posted_at: posted_at + 9000,
                        modified_at: 0,
                        parent_id: Some(comment),
                    },
                );
            }
        }
        if n % 20 == 0 {
            let note = state.ids.next();
            state.notes.insert(
                note,
                Note {
                    id: note,
                    doc_id: id,
                    user_id: owner,
                    member_id: None,
                    content: format!("the {second}"),
                    x: 2,
                    y: 2,
                    w: 8,
                    h: 6,
                    posted_at: posted_at + 600,
                },
            );
        }
        files.push((id, bytes));
        doc_ids.push((id, owner));
        state.docs.insert(id, doc);
    }
    write_files(data_dir, files)?;
    // Albums of 50 of user 1's documents, in posting order, and folders of 10 albums.
    let owned: Vec<u64> = doc_ids
        .iter()
        .filter(|(_, o)| *o == USER_ID)
        .map(|(id, _)| *id)
        .collect();
    let mut albums = Vec::new();
    for (n, chunk) in owned
        .chunks(50)
        .take(super::handlers::MAX_ALBUMS)
        .enumerate()
    {
        let id = state.ids.next();
        let mut album = Album::new(
            id,
            USER_ID,
            format!("Album {n}"),
            format!("Fifty photos, part {n}."),
        );
        album.docs = chunk.to_vec();
        album.cover = chunk.get(chunk.len() / 2).copied();
        album.position = n as u64;
        if n % 4 == 0 {
            album.faves = members
                .iter()
                .take(2)
                .map(|m| Fave {
                    user_id: *m,
                    faved_at: now,
                })
                .collect();
        }
        state.albums.insert(id, album);
        albums.push(id);
    }
    for (n, chunk) in albums.chunks(10).enumerate() {
        let id = state.ids.next();
        state.folders.insert(
            id,
            Folder {
                id,
                owner: USER_ID,
                title: format!("Folder {n}"),
                description: format!("Ten albums, part {n}."),
                albums: chunk.to_vec(),
                cover: None,
                created_at: now,
                updated_at: now,
                position: n as u64,
            },
        );
    }
    // Groups with a few documents each, and posts.
    let everyone: BTreeMap<u64, u64> = std::iter::once(USER_ID)
        .chain(members.iter().copied())
        .map(|m| (m, start))
        .collect();
    let group_count = (documents / 5000).clamp(2, 20);
    let first_group = state.groups.iter().map(|(id, _)| *id).max().unwrap_or(0) + 1;
    for (n, id) in (first_group..first_group + group_count as u64).enumerate() {
        let docs = doc_ids
            .iter()
            .filter(|(doc, _)| doc % group_count as u64 == n as u64)
            .take(200)
            .map(|(doc, owner)| GroupDoc {
                doc_id: *doc,
                user_id: *owner,
                added_at: now,
                pending: false,
            })
            .collect();
        state.groups.insert(
            id,
            Group {
                id,
                title: format!("{} lovers", cycle(&WORDS, n as u64)),
                description: format!("Photos of every {}.", cycle(&WORDS, n as u64)),
                lang: "en".to_owned(),
                owner: USER_ID,
                is_public: n % 5 != 4,
                moderated: n % 3 == 2,
                members: everyone.clone(),
                docs,
                weekly_quota: 0,
                created_at: start,
            },
        );
    }
    let first_post = state.posts.iter().map(|(id, _)| *id).max().unwrap_or(0) + 1;
    for (n, id) in (first_post..first_post + (documents / 1000).clamp(3, 100) as u64).enumerate() {
        let subject = cycle(&WORDS, n as u64);
        state.posts.insert(
            id,
            Post {
                id,
                owner: USER_ID,
                title: format!("About the {subject}"),
                content: format!("A story about the {subject}, number {n}."),
                intro: String::new(),
                is_public: n % 4 != 3,
                is_friend: n % 4 == 3,
                is_family: false,
                license: 0,
                perm_comment: 5,
                perm_tag: 4,
                perm_tagme: 4,
                tags: vec![(state.ids.next(), subject.to_owned())],
                posted_at: start + n as u64 * 86_400,
                modified_at: 0,
                faves: Vec::new(),
                visits: Vec::new(),
            },
        );
    }
    Ok(seeded)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time.
fn date_text(time: u64) -> String {
    let days = time / 86_400;
    let seconds = time % 86_400;
    // Civil-from-days (H. Hinnant).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Writes the files with a few threads (each through a temporary name).
fn write_files(data_dir: &Path, files: Vec<(u64, Vec<u8>)>) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> std::io::Result<()> {
                    for (id, bytes) in part {
                        std::fs::write(doc_file(data_dir, *id), bytes)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle
                .join()
                .map_err(|_| std::io::Error::other("a thread writing seeded files failed"))??;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_the_service_writes_them() {
        assert_eq!(date_text(0), "1970-01-01 00:00:00");
        assert_eq!(date_text(1_321_271_809), "2011-11-14 11:56:49");
        assert_eq!(date_text(951_782_400), "2000-02-29 00:00:00");
    }
}
