//! The static registry of the API's 102 methods (as `api.methods.getList` lists them; each method's page is
//! `http://www.ipernity.com/help/api/method/{name}`), with the flags each one carries in
//! `api.methods.getList`: HTTP POST required, signature required, token required, the permission
//! the token needs, and the safety flag.
//!
//! ```
//! use ipernity::methods::{self, Level, Target};
//! let info = methods::lookup("upload.file").unwrap();
//! assert!(info.post && info.sign && info.token);
//! assert_eq!(info.permission.map(|p| (p.target, p.level)), Some((Target::Doc, Level::Write)));
//! assert!(methods::lookup("upload.nothing").is_none());
//! ```
//!
//! The file is long because it is a table: one entry of a few lines for each of the 102
//! methods, and nothing else.

use std::fmt;

/// What a permission covers (`perm_doc`, `perm_blog`, …).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Photos, videos and other documents.
    Doc,
    /// The blog.
    Blog,
    /// Articles.
    Post,
    /// Contacts.
    Network,
    /// The user profile.
    Profile,
}

/// How much a permission allows; each level implies the ones before it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Read, including private items.
    Read,
    /// Read and write.
    Write,
    /// Read, write and delete.
    Delete,
}

/// A permission a method needs: a target at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission {
    /// What it covers.
    pub target: Target,
    /// How much it allows.
    pub level: Level,
}

impl Permission {
    /// A permission of `target` at `level`.
    pub const fn new(target: Target, level: Level) -> Permission {
        Permission { target, level }
    }
}

impl Target {
    /// The name used in `perm_*` parameters and token responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Doc => "doc",
            Target::Blog => "blog",
            Target::Post => "post",
            Target::Network => "network",
            Target::Profile => "profile",
        }
    }
}

impl Level {
    /// The name used in `perm_*` parameters and token responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Read => "read",
            Level::Write => "write",
            Level::Delete => "delete",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.target.as_str(), self.level.as_str())
    }
}

/// One method of the API and its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// The method name, e.g. `doc.get`.
    pub name: &'static str,
    /// Must be called with HTTP POST (error 120 otherwise).
    pub post: bool,
    /// Must be signed (errors 104/105 otherwise).
    pub sign: bool,
    /// Needs an `auth_token` (errors 106/107 otherwise).
    pub token: bool,
    /// The permission the token needs (error 110 otherwise).
    pub permission: Option<Permission>,
    /// The `authentication.safety` flag of `api.methods.getList` (its meaning is undocumented).
    pub safety: bool,
    /// The one-line description from `api.methods.getList`.
    pub title: &'static str,
}

/// Every method, sorted by name.
pub static METHODS: &[MethodInfo] = &[
    MethodInfo {
        name: "account.getQuota",
        post: false,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Return the calling user upload quota",
    },
    MethodInfo {
        name: "album.create",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Create a new album",
    },
    MethodInfo {
        name: "album.delete",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Delete)),
        safety: false,
        title: "Delete an album",
    },
    MethodInfo {
        name: "album.docs.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Add one or many docs to an album",
    },
    MethodInfo {
        name: "album.docs.getContext",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: true,
        title: "Get the document context in an album",
    },
    MethodInfo {
        name: "album.docs.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: true,
        title: "Return the list of documents in an album",
    },
    MethodInfo {
        name: "album.docs.remove",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Remove one or many docs from an album",
    },
    MethodInfo {
        name: "album.docs.setList",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Replace all the documents and the cover of an album",
    },
    MethodInfo {
        name: "album.edit",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Edit an album",
    },
    MethodInfo {
        name: "album.get",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Get information about an album",
    },
    MethodInfo {
        name: "album.getFaves",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the list of members who have faved a album",
    },
    MethodInfo {
        name: "album.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: true,
        title: "Return the albums list for a given user",
    },
    MethodInfo {
        name: "album.getVisitors",
        post: false,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the album latest visitors",
    },
    MethodInfo {
        name: "album.orderList",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Change the order of your albums",
    },
    MethodInfo {
        name: "album.setPerms",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Set permissions for an album",
    },
    MethodInfo {
        name: "api.methods.get",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Return information about an API method",
    },
    MethodInfo {
        name: "api.methods.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Return the API methods list",
    },
    MethodInfo {
        name: "auth.checkToken",
        post: false,
        sign: true,
        token: true,
        permission: None,
        safety: false,
        title: "Check a token validity",
    },
    MethodInfo {
        name: "auth.getFrob",
        post: false,
        sign: true,
        token: false,
        permission: None,
        safety: false,
        title: "Ask for a Frob",
    },
    MethodInfo {
        name: "auth.getToken",
        post: false,
        sign: true,
        token: false,
        permission: None,
        safety: false,
        title: "Returns the auth token for the given frob",
    },
    MethodInfo {
        name: "doc.albums.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Add doc in one or many albums",
    },
    MethodInfo {
        name: "doc.checkMD5",
        post: false,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Check if a doc exists in your stream using MD5",
    },
    MethodInfo {
        name: "doc.comments.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Comment on a document",
    },
    MethodInfo {
        name: "doc.comments.delete",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Delete a comment on a document",
    },
    MethodInfo {
        name: "doc.comments.edit",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Edit a comment on a document",
    },
    MethodInfo {
        name: "doc.comments.get",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return a comment on a document",
    },
    MethodInfo {
        name: "doc.comments.getList",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the comments on a document",
    },
    MethodInfo {
        name: "doc.comments.reply",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Reply to a comment on a document",
    },
    MethodInfo {
        name: "doc.delete",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Delete)),
        safety: false,
        title: "Delete a document",
    },
    MethodInfo {
        name: "doc.get",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Get details about document",
    },
    MethodInfo {
        name: "doc.getContainers",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return all albums and groups the document belongs to",
    },
    MethodInfo {
        name: "doc.getContext",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Get the document context in docstream",
    },
    MethodInfo {
        name: "doc.getExif",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the meta information for a document (EXIF/ID3/...)",
    },
    MethodInfo {
        name: "doc.getFaves",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the list of members who have faved a document",
    },
    MethodInfo {
        name: "doc.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: true,
        title: "Return the member's list of documents",
    },
    MethodInfo {
        name: "doc.getMedias",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Get document media urls (thumbs, medias, original,...)",
    },
    MethodInfo {
        name: "doc.getPerms",
        post: false,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return permissions for a document",
    },
    MethodInfo {
        name: "doc.getVisitors",
        post: false,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the document latest visitors",
    },
    MethodInfo {
        name: "doc.notes.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Add a note to a photo",
    },
    MethodInfo {
        name: "doc.notes.delete",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Remove a note from a photo",
    },
    MethodInfo {
        name: "doc.notes.edit",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Edit a note on a photo",
    },
    MethodInfo {
        name: "doc.search",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: true,
        title: "Search for documents",
    },
    MethodInfo {
        name: "doc.set",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: true,
        title: "Edit a document title and description",
    },
    MethodInfo {
        name: "doc.setGeo",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Set longitude and latitude of a document",
    },
    MethodInfo {
        name: "doc.setLicense",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Set the license for a document",
    },
    MethodInfo {
        name: "doc.setPerms",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Set permissions for a document",
    },
    MethodInfo {
        name: "doc.setSafety",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Set the safety for a document",
    },
    MethodInfo {
        name: "doc.tags.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Add a tag to a document",
    },
    MethodInfo {
        name: "doc.tags.edit",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Edit (in fact replace) the tags for a document owned by the calling user",
    },
    MethodInfo {
        name: "doc.tags.getList",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the list of tags on a document",
    },
    MethodInfo {
        name: "doc.tags.remove",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Remove a tag from a document",
    },
    MethodInfo {
        name: "explore.docs.getPopular",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the week most popular documents",
    },
    MethodInfo {
        name: "explore.docs.getRecent",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return some recent documents posted by everyone",
    },
    MethodInfo {
        name: "explore.docs.homepage",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return the homepage focus last 5 items",
    },
    MethodInfo {
        name: "explore.groups.getRandom",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Return some random interesting groups",
    },
    MethodInfo {
        name: "faves.albums.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Add an album to your faves",
    },
    MethodInfo {
        name: "faves.albums.getList",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Return a list of favorite albums for a given user",
    },
    MethodInfo {
        name: "faves.albums.remove",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Remove an album from your faves",
    },
    MethodInfo {
        name: "faves.docs.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Add a document to your faves",
    },
    MethodInfo {
        name: "faves.docs.getList",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: true,
        title: "Return a list of favorite documents for a given user",
    },
    MethodInfo {
        name: "faves.docs.remove",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Remove a document from your faves",
    },
    MethodInfo {
        name: "folder.albums.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Add one or many albums to a folder",
    },
    MethodInfo {
        name: "folder.albums.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: true,
        title: "Return the list of albums in a folder",
    },
    MethodInfo {
        name: "folder.albums.remove",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Remove one or many albums from a folder",
    },
    MethodInfo {
        name: "folder.create",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Create a new folder",
    },
    MethodInfo {
        name: "folder.delete",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Delete)),
        safety: false,
        title: "Delete a folder",
    },
    MethodInfo {
        name: "folder.edit",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Edit a folder",
    },
    MethodInfo {
        name: "folder.get",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Get information about a folder",
    },
    MethodInfo {
        name: "folder.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Return the folders list for a given user",
    },
    MethodInfo {
        name: "folder.orderList",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Change the order of your folders",
    },
    MethodInfo {
        name: "group.docs.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Add one or many docs to a group",
    },
    MethodInfo {
        name: "group.docs.getContext",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: false,
        title: "Get the document context in a group",
    },
    MethodInfo {
        name: "group.docs.getList",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: true,
        title: "Return the list of documents in a group",
    },
    MethodInfo {
        name: "group.docs.remove",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Remove one or many docs from a group",
    },
    MethodInfo {
        name: "group.get",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Get details about a group",
    },
    MethodInfo {
        name: "group.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Return the groups list for a given user",
    },
    MethodInfo {
        name: "group.search",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Search for a group",
    },
    MethodInfo {
        name: "network.autocomplete",
        post: false,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Network, Level::Read)),
        safety: false,
        title: "Return the members matching a sub-query",
    },
    MethodInfo {
        name: "network.docs.getRecent",
        post: false,
        sign: true,
        token: true,
        permission: None,
        safety: false,
        title: "Return recent uploads of the calling user's network",
    },
    MethodInfo {
        name: "network.getList",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Network, Level::Read)),
        safety: false,
        title: "Return members of someone's network",
    },
    MethodInfo {
        name: "post.comments.add",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Post, Level::Write)),
        safety: false,
        title: "Comment on a post",
    },
    MethodInfo {
        name: "post.comments.delete",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Post, Level::Write)),
        safety: false,
        title: "Delete a comment on a post",
    },
    MethodInfo {
        name: "post.comments.edit",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Post, Level::Write)),
        safety: false,
        title: "Edit a comment on a post",
    },
    MethodInfo {
        name: "post.comments.get",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Post, Level::Read)),
        safety: false,
        title: "Return a comment on a post",
    },
    MethodInfo {
        name: "post.comments.getList",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Post, Level::Read)),
        safety: false,
        title: "Return the comments on a post",
    },
    MethodInfo {
        name: "post.comments.reply",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Post, Level::Write)),
        safety: false,
        title: "Reply to a comment on a post",
    },
    MethodInfo {
        name: "post.get",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Blog, Level::Read)),
        safety: false,
        title: "Get details about a post",
    },
    MethodInfo {
        name: "post.getContext",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Post, Level::Read)),
        safety: false,
        title: "Get the post context in posts stream",
    },
    MethodInfo {
        name: "post.getFaves",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Post, Level::Read)),
        safety: false,
        title: "Return the list of members who have faved a post",
    },
    MethodInfo {
        name: "post.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: true,
        title: "Return the member's list of posts",
    },
    MethodInfo {
        name: "post.getVisitors",
        post: false,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Post, Level::Read)),
        safety: false,
        title: "Return the post latest visitors",
    },
    MethodInfo {
        name: "post.search",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Post, Level::Read)),
        safety: true,
        title: "Search for posts",
    },
    MethodInfo {
        name: "post.set",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Blog, Level::Write)),
        safety: true,
        title: "Edit a article title and description",
    },
    MethodInfo {
        name: "tags.docs.getList",
        post: false,
        sign: false,
        token: false,
        permission: Some(Permission::new(Target::Doc, Level::Read)),
        safety: true,
        title: "Return the list of documents for a given tag",
    },
    MethodInfo {
        name: "tags.user.getList",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Get the tags list for a given user",
    },
    MethodInfo {
        name: "tags.user.getPopular",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Get the most used tags for a given user",
    },
    MethodInfo {
        name: "test.echo",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "A simple echo test",
    },
    MethodInfo {
        name: "test.hello",
        post: false,
        sign: false,
        token: false,
        permission: None,
        safety: false,
        title: "Hello world!",
    },
    MethodInfo {
        name: "upload.checkTickets",
        post: false,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Check the status of one or more upload tickets",
    },
    MethodInfo {
        name: "upload.file",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: true,
        title: "Upload a new file",
    },
    MethodInfo {
        name: "upload.replace",
        post: true,
        sign: true,
        token: true,
        permission: Some(Permission::new(Target::Doc, Level::Write)),
        safety: false,
        title: "Replace a file",
    },
    MethodInfo {
        name: "user.get",
        post: false,
        sign: true,
        token: false,
        permission: None,
        safety: false,
        title: "Get information about a user",
    },
];

/// The method called `name`, if the API has one.
pub fn lookup(name: &str) -> Option<&'static MethodInfo> {
    METHODS
        .binary_search_by(|info| info.name.cmp(name))
        .ok()
        .and_then(|index| METHODS.get(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_all_102_methods_sorted_and_unique() {
        assert_eq!(METHODS.len(), 102);
        assert!(METHODS.windows(2).all(|w| w[0].name < w[1].name));
        for info in METHODS {
            assert_eq!(lookup(info.name), Some(info));
        }
    }

    #[test]
    fn flags_match_the_method_list() {
        let get = lookup("doc.get").unwrap();
        assert!(!get.post && !get.sign && !get.token);
        assert_eq!(
            get.permission,
            Some(Permission::new(Target::Doc, Level::Read))
        );
        let delete = lookup("doc.delete").unwrap();
        assert!(delete.post && delete.token);
        assert_eq!(delete.permission.unwrap().to_string(), "doc:delete");
        let frob = lookup("auth.getFrob").unwrap();
        assert!(frob.sign && !frob.token && frob.permission.is_none());
        let families = [
            "account.", "album.", "api.", "auth.", "doc.", "explore.", "faves.", "folder.",
            "group.", "network.", "post.", "tags.", "test.", "upload.", "user.",
        ];
        let counts = [1, 14, 2, 3, 31, 4, 6, 9, 7, 3, 13, 3, 2, 3, 1];
        for (family, count) in families.iter().zip(counts) {
            assert_eq!(
                METHODS
                    .iter()
                    .filter(|m| m.name.starts_with(family))
                    .count(),
                count,
                "{family}"
            );
        }
    }
}
