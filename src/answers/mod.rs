//! The answers of the API's methods, typed after the documented examples (the catalog's
//! `answer.example`). Shapes that several methods share are one type: a document in a list
//! ([`DocSummary`]), a page ([`Page`]), a list that is not paged ([`List`]), a batch result
//! ([`Batch`]), the documents around one ([`Context`]).
//!
//! Every type is `#[non_exhaustive]` and keeps what it does not name in `other`. The typed
//! builders of [`api`](crate::api) answer with them; [`CallBuilder::send_as`](crate::client::CallBuilder::send_as)
//! reads any answer into them too.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, Visitor};

mod shape;

use crate::codes::{Audience, License, Media, Safety};
use crate::ids::{AlbumId, CommentId, DocId, FolderId, GroupId, NoteId, PostId, TagId, UserId};
use crate::value::{Map, Text, Value};
pub(crate) use shape::answer;
pub use shape::{Item, List, Page};

answer! {
    /// A member as answers name them (`owner`, `user`).
    pub struct Owner {
        /// The member.
        user_id: UserId,
        /// The display name.
        username: Option<String>,
        /// The real name.
        realname: Option<String>,
        /// The short name used in links.
        alias: Option<String>,
        /// A Pro account.
        is_pro: Option<bool>,
        /// The avatar's URL.
        icon: Option<String>,
    }
}

answer! {
    /// A thumbnail: its size label, file extension, size and URL.
    pub struct Thumb: "thumb" {
        /// The size label (`75x`, `500`, …).
        label: Option<String>,
        /// The file extension.
        ext: Option<String>,
        /// Width in pixels.
        w: Option<u32>,
        /// Height in pixels.
        h: Option<u32>,
        /// Where to download it.
        url: Option<String>,
    }
}

answer! {
    /// An encoded version of a video or a sound.
    pub struct MediaFile: "media" {
        /// The version (`flv`, `mp4`, `hd`, …).
        label: Option<String>,
        /// The file extension.
        ext: Option<String>,
        /// Width in pixels.
        w: Option<u32>,
        /// Height in pixels.
        h: Option<u32>,
        /// Length in seconds (the documentation spells it `lenght` here).
        length = "length" | "lenght": Option<u64>,
        /// Where to download it.
        url: Option<String>,
    }
}

answer! {
    /// The original file.
    pub struct Original {
        /// The file extension.
        ext: Option<String>,
        /// Width in pixels.
        w: Option<u32>,
        /// Height in pixels.
        h: Option<u32>,
        /// Length in seconds, for a video or a sound.
        length = "length" | "lenght": Option<u64>,
        /// The name it was uploaded under.
        filename: Option<String>,
        /// Its size.
        bytes: Option<u64>,
        /// Where to download it.
        url: Option<String>,
    }
}

answer! {
    /// A document's dates (Unix times, `created` as the date text the service gives).
    pub struct DocDates {
        /// When it was posted.
        posted_at: Option<u64>,
        /// When its file was last replaced.
        replaced_at: Option<u64>,
        /// When it was created (taken), as text.
        created: Option<String>,
        /// When it was last changed.
        modified_at: Option<u64>,
        /// When it was last commented.
        comment_at = "comment_at" | "last_comment_at": Option<u64>,
    }
}

answer! {
    /// Who sees an item (`ispublic`, `isfriend`, `isfamily`, and `share`, 5 meaning public).
    pub struct Visibility {
        /// Everybody.
        ispublic = "ispublic" | "public": Option<bool>,
        /// Friends.
        isfriend = "isfriend" | "friend" | "isfriends": Option<bool>,
        /// Family.
        isfamily = "isfamily" | "family": Option<bool>,
        /// The sharing code (0 private … 5 public in answers).
        share: Option<u8>,
    }
}

answer! {
    /// Who may comment, tag, and tag themselves.
    pub struct Permissions {
        /// Who may comment.
        comment = "comment" | "permcomment": Option<Audience>,
        /// Who may add tags.
        tag = "tag" | "permtag": Option<Audience>,
        /// Who may tag themselves.
        tagme = "tagme" | "permtagme": Option<Audience>,
    }
}

answer! {
    /// Counters of a document, an album, a group or a member.
    pub struct Counts {
        /// Visits.
        visits: Option<u64>,
        /// Faves.
        faves: Option<u64>,
        /// Comments.
        comments: Option<u64>,
        /// Notes.
        notes: Option<u64>,
        /// Tags.
        tags: Option<u64>,
        /// Albums.
        albums: Option<u64>,
        /// Groups.
        groups: Option<u64>,
        /// Documents.
        docs: Option<u64>,
        /// Members.
        members: Option<u64>,
        /// Discussion topics.
        topics: Option<u64>,
        /// Blog articles.
        posts: Option<u64>,
        /// Contacts.
        network: Option<u64>,
        /// The last visit (Unix time).
        last_visit: Option<u64>,
    }
}

answer! {
    /// Where a document was taken.
    pub struct Geo {
        /// Latitude in decimal degrees.
        lat: Option<f64>,
        /// Longitude in decimal degrees.
        lng: Option<f64>,
        /// The service's place id.
        loc_id: Option<u64>,
        /// The place's name.
        location: Option<String>,
    }
}

answer! {
    /// A tag: a keyword, a machine tag or a member named in a document.
    pub struct Tag: "tag" {
        /// The tag (`tag_id` in older answers).
        id = "id" | "tag_id": Option<TagId>,
        /// What kind of tag.
        kind = "type": Option<String>,
        /// Who added it.
        user_id: Option<UserId>,
        /// The tag as shown (`keyword` in older answers).
        tag = "tag" | "keyword": Option<String>,
        /// The member named, for a member tag.
        member_id: Option<UserId>,
        /// The title shown for it.
        title: Option<String>,
        /// When it was added.
        added_at: Option<u64>,
        /// How many documents carry it (`tags.user.*`).
        docs: Option<u64>,
        /// How many articles carry it (`tags.user.*`).
        posts: Option<u64>,
    }
}

answer! {
    /// A note on a rectangle of a photo; `text` is the note's text.
    pub struct Note: "note" {
        /// The note.
        note_id: NoteId,
        /// Who wrote it.
        user_id: Option<UserId>,
        /// Their name.
        username: Option<String>,
        /// Left edge.
        x: Option<u32>,
        /// Top edge.
        y: Option<u32>,
        /// Width.
        w: Option<u32>,
        /// Height.
        h: Option<u32>,
        /// The note's text.
        text = "_value" | "content": Option<String>,
    }
}

answer! {
    /// A document as lists give it: the basics, a thumbnail, and the `extra` blocks asked for.
    pub struct DocSummary: "doc" {
        /// The document.
        doc_id: DocId,
        /// What kind of media.
        media: Option<Media>,
        /// Its licence.
        license: Option<License>,
        /// Its title.
        title: Option<String>,
        /// Its safety level.
        safety: Option<Safety>,
        /// The thumbnail of the size asked for.
        thumb: Option<Thumb>,
        /// Its owner (`extra=owner`).
        owner: Option<Owner>,
        /// Its dates (`extra=dates`).
        dates: Option<DocDates>,
        /// Its counters (`extra=count`).
        count: Option<Counts>,
        /// Its location (`extra=geo`).
        geo: Option<Geo>,
        /// Its encoded versions (`extra=medias`).
        medias: Option<List<MediaFile>>,
        /// Its original (`extra=original`).
        original: Option<Original>,
        /// The original's MD5 (`extra=md5`).
        md5: Option<String>,
    }
}

answer! {
    /// Everything `doc.get` tells about a document.
    pub struct Doc {
        /// The document.
        doc_id: DocId,
        /// What kind of media.
        media: Option<Media>,
        /// Its licence.
        license: Option<License>,
        /// How it is turned, in degrees.
        rotation: Option<u32>,
        /// Its title.
        title: Option<String>,
        /// Its safety level.
        safety: Option<Safety>,
        /// Its page.
        link: Option<String>,
        /// Its owner.
        owner: Option<Owner>,
        /// Its description.
        description: Option<String>,
        /// Its dates.
        dates: Option<DocDates>,
        /// Who sees it.
        visibility: Option<Visibility>,
        /// Who may comment and tag it.
        permissions: Option<Permissions>,
        /// Its counters.
        count: Option<Counts>,
        /// What the caller may do with it.
        can: Option<Value>,
        /// The caller's own relation to it.
        you: Option<Value>,
        /// Its thumbnails.
        thumbs: Option<List<Thumb>>,
        /// Its encoded versions.
        medias: Option<List<MediaFile>>,
        /// Its original.
        original: Option<Original>,
        /// Its location (`extra=geo`).
        geo: Option<Geo>,
        /// Its tags (`extra=tags`).
        tags: Option<List<Tag>>,
        /// Its notes (`extra=notes`).
        notes: Option<List<Note>>,
        /// The original's MD5 (`extra=md5`).
        md5: Option<String>,
    }
}

answer! {
    /// A cover: the document shown for an album or a folder (only its URL, in
    /// `doc.getContainers`).
    pub struct Cover, text = url {
        /// The document (`cover_id` in some answers).
        doc_id = "doc_id" | "cover_id": Option<DocId>,
        /// Width in pixels.
        w: Option<u32>,
        /// Height in pixels.
        h: Option<u32>,
        /// Where to download it.
        url: Option<String>,
    }
}

answer! {
    /// An album, alone (`album.get`, `album.create`, `album.edit`) or in a list.
    pub struct Album: "album" {
        /// The album.
        album_id: AlbumId,
        /// Its title.
        title: Option<String>,
        /// Its page.
        link: Option<String>,
        /// Its owner, in lists of others' albums.
        user_id: Option<UserId>,
        /// Its description.
        description: Option<String>,
        /// Who sees it.
        visibility: Option<Visibility>,
        /// Its dates.
        dates: Option<Value>,
        /// Its counters.
        count: Option<Counts>,
        /// Its cover.
        cover: Option<Cover>,
        /// Its thumbnail, in a folder's list.
        thumb: Option<Thumb>,
        /// Who may comment.
        permissions: Option<Permissions>,
    }
}

answer! {
    /// A folder of albums, alone or in a list.
    pub struct Folder: "folder" {
        /// The folder.
        folder_id: FolderId,
        /// Its title.
        title: Option<String>,
        /// Its page.
        link: Option<String>,
        /// Its description.
        description: Option<String>,
        /// Its dates.
        dates: Option<Value>,
        /// Its counters.
        count: Option<Value>,
        /// Its cover.
        cover: Option<Cover>,
        /// Its owner.
        owner: Option<Owner>,
    }
}

answer! {
    /// A group, alone (`group.get`, which says `id`) or in a list.
    pub struct Group: "group" {
        /// The group.
        group_id = "group_id" | "id": GroupId,
        /// Its name.
        title: Option<String>,
        /// Its page.
        link: Option<String>,
        /// Its icon.
        icon: Option<String>,
        /// Its language.
        lang: Option<String>,
        /// Its description.
        description: Option<String>,
        /// Its counters.
        count: Option<Counts>,
        /// Its dates.
        dates: Option<Value>,
        /// What is public in it.
        visibility: Option<Value>,
        /// The caller's membership.
        you: Option<Value>,
    }
}

answer! {
    /// A member (`user.get`, the network's lists).
    pub struct Member: "user" {
        /// The member.
        user_id: UserId,
        /// The display name.
        username: Option<String>,
        /// The real name.
        realname: Option<String>,
        /// The short name used in links.
        alias: Option<String>,
        /// The avatar's URL.
        icon: Option<String>,
        /// Their home page.
        link: Option<String>,
        /// A Pro account.
        is_pro: Option<bool>,
        /// How the caller and they are related.
        relation: Option<Value>,
        /// Where they live.
        location: Option<Value>,
        /// Their counters.
        count: Option<Counts>,
    }
}

answer! {
    /// A blog article, alone or in a list.
    pub struct Post: "post" {
        /// The article.
        post_id: PostId,
        /// Its title.
        title: Option<String>,
        /// Its opening text.
        intro: Option<String>,
        /// Its licence.
        license: Option<License>,
        /// Its safety level (0 when not set).
        safety: Option<u8>,
        /// Its page.
        link: Option<String>,
        /// Its text.
        description: Option<String>,
        /// Who sees it.
        visibility: Option<Visibility>,
        /// Its dates.
        dates: Option<Value>,
        /// Its author.
        owner: Option<Owner>,
        /// Its counters.
        count: Option<Counts>,
        /// Who may comment and tag it.
        permissions: Option<Permissions>,
        /// Its tags (`extra=tags`).
        tags: Option<List<Tag>>,
    }
}

answer! {
    /// A comment under a document or an article.
    pub struct Comment: "comment" {
        /// The comment.
        comment_id: CommentId,
        /// The comment it answers.
        parent_id: Option<CommentId>,
        /// Who wrote it.
        user_id: Option<UserId>,
        /// Their name.
        username: Option<String>,
        /// When it was written.
        posted_at: Option<u64>,
        /// When it was last changed.
        modified_at: Option<u64>,
        /// Where it is shown.
        link: Option<String>,
        /// Its text (some HTML).
        content: Option<String>,
    }
}

answer! {
    /// A member who made an item a favourite.
    pub struct Fave: "fave" {
        /// The member.
        user_id: UserId,
        /// Their name.
        username: Option<String>,
        /// When.
        faved_at: Option<u64>,
    }
}

answer! {
    /// A member's visits to one of the caller's items (anonymous visits stay in the page's
    /// `other`, under `anonymous`).
    pub struct Visit: "visit" {
        /// The member.
        user_id: UserId,
        /// Their name.
        username: Option<String>,
        /// The last visit.
        visited_at: Option<u64>,
        /// The first visit.
        first_visit_at: Option<u64>,
        /// How many visits.
        visits: Option<u64>,
    }
}

answer! {
    /// One line of a batch: one document or album, and what happened to it.
    pub struct BatchLine {
        /// The document, in `album.docs.*` and `group.docs.*`.
        doc_id: Option<DocId>,
        /// The album, in `folder.albums.*` and `doc.albums.add`.
        album_id: Option<AlbumId>,
        /// It went in.
        added: Option<bool>,
        /// It came out.
        removed: Option<bool>,
        /// It waits for a moderator (groups).
        pending: Option<bool>,
        /// Why it did not go in: 1, the item is already in as many containers as it may be; 2
        /// (groups), the group does not take this kind of media.
        error: Option<u32>,
    }
}

/// The answer of a batch write (`album.docs.add`, `group.docs.remove`, `folder.albums.add`, …):
/// the container, its counters, and one line per item sent.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Batch {
    /// How many items the container holds afterwards.
    pub total: Option<u64>,
    /// How many went in.
    pub added: Option<u64>,
    /// How many came out.
    pub removed: Option<u64>,
    /// How many were left as they were.
    pub skipped: Option<u64>,
    /// How many wait for a moderator.
    pub pending: Option<u64>,
    /// One line per item sent.
    pub lines: Vec<BatchLine>,
    /// The container's id and every other member.
    pub other: Map,
}

impl<'de> serde::Deserialize<'de> for Batch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Batch, D::Error> {
        struct BatchVisitor;
        impl<'de> Visitor<'de> for BatchVisitor {
            type Value = Batch;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a batch result")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Batch, A::Error> {
                let mut batch = Batch::default();
                while let Some(key) = map.next_key::<shape::Key<'de>>()? {
                    let value: Value = map.next_value()?;
                    let number = || value.as_u64();
                    match key.as_str() {
                        "total" => batch.total = number(),
                        "added" => batch.added = number(),
                        "removed" => batch.removed = number(),
                        "skipped" => batch.skipped = number(),
                        "pending" => batch.pending = number(),
                        "doc" | "album" => {
                            for line in value.as_slice() {
                                batch
                                    .lines
                                    .push(BatchLine::deserialize(line).map_err(de::Error::custom)?);
                            }
                        }
                        key => {
                            batch.other.insert(Text::from(key), value);
                        }
                    }
                }
                Ok(batch)
            }
        }
        use serde::Deserialize;
        deserializer.deserialize_map(BatchVisitor)
    }
}

answer! {
    /// A document around another (`*.getContext`): the basics and its thumbnail's size and URL.
    pub struct ContextDoc: "doc" {
        /// Its place: negative before the document asked about, positive after, 0 for it.
        index: Option<i64>,
        /// The document.
        doc_id: DocId,
        /// What kind of media.
        media: Option<Media>,
        /// Its title.
        title: Option<String>,
        /// Its safety level.
        safety: Option<Safety>,
        /// Thumbnail width.
        w: Option<u32>,
        /// Thumbnail height.
        h: Option<u32>,
        /// Thumbnail URL.
        url: Option<String>,
        /// Its page.
        link: Option<String>,
        /// Its owner.
        user_id: Option<UserId>,
    }
}

answer! {
    /// An article around another (`post.getContext`).
    pub struct ContextPost: "post" {
        /// Its place: negative before the article asked about, positive after, 0 for it.
        index: Option<i64>,
        /// The article.
        post_id: PostId,
        /// Its title.
        title: Option<String>,
        /// Its page.
        link: Option<String>,
        /// Its author.
        user_id: Option<UserId>,
    }
}

/// The items around one (`doc.getContext`, `album.docs.getContext`, …): those before it, it,
/// and those after, with the container when there is one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Context<T> {
    /// The items before, nearest first (`prev`).
    pub prev: List<T>,
    /// The item asked about.
    pub current: Option<T>,
    /// The items after, nearest first (`next`).
    pub next: List<T>,
    /// The album or group (`album`, `group`) and every other member.
    pub other: Map,
}

impl<'de, T: Item> serde::Deserialize<'de> for Context<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Context<T>, D::Error> {
        struct ContextVisitor<T>(PhantomData<T>);
        impl<'de, T: Item> Visitor<'de> for ContextVisitor<T> {
            type Value = Context<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("prev, the item and next")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context<T>, A::Error> {
                let mut context = Context {
                    prev: List::default(),
                    current: None,
                    next: List::default(),
                    other: Map::default(),
                };
                while let Some(key) = map.next_key::<shape::Key<'de>>()? {
                    match key.as_str() {
                        "prev" => context.prev = map.next_value()?,
                        "next" => context.next = map.next_value()?,
                        key if key == T::KEY => context.current = Some(map.next_value()?),
                        key => {
                            let value: Value = map.next_value()?;
                            context.other.insert(Text::from(key), value);
                        }
                    }
                }
                Ok(context)
            }
        }
        deserializer.deserialize_map(ContextVisitor(PhantomData))
    }
}

answer! {
    /// A document list wrapped in its album or group (`album.docs.getList`,
    /// `group.docs.getList`): the page of documents, the cover, the container's id in `other`.
    pub struct ContainerDocs {
        /// The page of documents.
        docs: Page<DocSummary>,
        /// The album's cover.
        cover: Option<Cover>,
    }
}

answer! {
    /// A folder's albums (`folder.albums.getList`): the page of albums and the folder's cover.
    pub struct FolderAlbums {
        /// The folder.
        folder_id: Option<FolderId>,
        /// The page of albums.
        albums: Page<Album>,
        /// The folder's cover.
        cover: Option<Cover>,
    }
}

answer! {
    /// One of the sizes `account.getQuota` reports.
    pub struct Amount {
        /// In bytes.
        bytes: Option<u64>,
        /// In kilobytes.
        kb: Option<u64>,
        /// In megabytes.
        mb: Option<u64>,
        /// As a percentage of the allowance.
        percent: Option<u64>,
        /// In seconds of video.
        seconds: Option<u64>,
    }
}

answer! {
    /// The upload allowance: the maximum, what was used and what is left.
    pub struct Allowance {
        /// No limit.
        unlimited: Option<bool>,
        /// The maximum.
        max: Option<Amount>,
        /// Used this month.
        used: Option<Amount>,
        /// What is left.
        left: Option<Amount>,
    }
}

answer! {
    /// The caller's upload quota (`account.getQuota`).
    pub struct Quota {
        /// The caller.
        user_id: Option<UserId>,
        /// A Pro account.
        is_pro: Option<bool>,
        /// The monthly allowance.
        upload: Option<Allowance>,
        /// The largest file accepted, per media kind (`photo`, `video`, …).
        maxfilesize: Option<Value>,
        /// Albums: `max`, `created`, `left`.
        albums: Option<Value>,
    }
}

answer! {
    /// A document's URLs (`doc.getMedias`).
    pub struct Medias {
        /// Its thumbnails.
        thumbs: Option<List<Thumb>>,
        /// Its encoded versions.
        medias: Option<List<MediaFile>>,
        /// Its players.
        players: Option<Value>,
        /// Its original.
        original: Option<Original>,
    }
}

answer! {
    /// A document's visibility and permissions (`doc.getPerms`).
    pub struct DocPerms {
        /// Who sees it.
        visibility: Option<Visibility>,
        /// Who may comment and tag it.
        permissions: Option<Permissions>,
        /// What the caller may do with it.
        usage: Option<Value>,
    }
}

answer! {
    /// The albums and groups holding a document (`doc.getContainers`).
    pub struct Containers {
        /// The albums.
        albums: Option<List<Album>>,
        /// The groups.
        groups: Option<List<Group>>,
    }
}

answer! {
    /// The metadata embedded in a file (`doc.getExif`): every tag is in `other`, by its name.
    pub struct Exif {}
}

answer! {
    /// A method as `api.methods.getList` lists it.
    pub struct MethodSummary: "method" {
        /// Its name.
        name: String,
        /// Its title.
        title: Option<String>,
        /// `post`, `sign`, `token` flags.
        authentication: Option<Value>,
    }
}

answer! {
    /// A method as `api.methods.get` describes it.
    pub struct MethodDescription {
        /// Its name.
        name: String,
        /// Its title.
        title: Option<String>,
        /// `post`, `sign`, `token` flags.
        authentication: Option<Value>,
        /// The permission it needs.
        permissions: Option<Value>,
        /// Its parameters.
        parameters: Option<Value>,
        /// Its errors.
        errors: Option<Value>,
    }
}

answer! {
    /// One checksum of `doc.checkMD5` and the caller's document with that original, if any.
    pub struct Md5Match: "doc" {
        /// The checksum asked about.
        md5: Option<String>,
        /// The document whose original has it.
        doc_id: Option<DocId>,
        /// Whether a document has it.
        found: Option<bool>,
    }
}

/// An item of a paged list that can be told from the others by its id, so that one seen on two
/// pages (it moved while the list was walked) is yielded once.
pub trait Keyed {
    /// The item's id.
    fn key(&self) -> u64;
}

macro_rules! keyed {
    ($($item:ty => $field:ident),* $(,)?) => {$(
        impl Keyed for $item {
            fn key(&self) -> u64 {
                self.$field.get()
            }
        }
    )*};
}

keyed!(
    DocSummary => doc_id,
    Album => album_id,
    Folder => folder_id,
    Group => group_id,
    Member => user_id,
    Post => post_id,
    Comment => comment_id,
    Fave => user_id,
    Visit => user_id,
);

/// A method's answer that holds one page of its list: the page itself, or the page inside a
/// container (`album.docs.getList`'s `<album><docs>`).
pub trait IntoPage {
    /// What the list holds.
    type Item;

    /// The page.
    fn into_page(self) -> Page<Self::Item>;
}

impl<T> IntoPage for Page<T> {
    type Item = T;

    fn into_page(self) -> Page<T> {
        self
    }
}

impl IntoPage for ContainerDocs {
    type Item = DocSummary;

    fn into_page(self) -> Page<DocSummary> {
        self.docs
    }
}

impl IntoPage for FolderAlbums {
    type Item = Album;

    fn into_page(self) -> Page<Album> {
        self.albums
    }
}
