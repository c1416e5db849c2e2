//! The stored records beside documents and albums: members and their network, comments, notes,
//! folders, groups, blog posts, and the faves and visits of what can be faved and visited.
//!
//! Members added after the first stores were written default when read from one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A member of the emulated service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) username: String,
    pub(crate) realname: String,
    /// The members this one lists, with how close they are.
    #[serde(default)]
    pub(crate) network: BTreeMap<u64, Closeness>,
    /// The members this one blocks: they may not comment, tag or fave here (error 109).
    #[serde(default)]
    pub(crate) blocked: BTreeSet<u64>,
    /// Where this member lives, as `user.get` shows it.
    #[serde(default)]
    pub(crate) town: String,
    #[serde(default)]
    pub(crate) country: String,
    /// Where this member lives, in degrees (0, 0 when unknown).
    #[serde(default)]
    pub(crate) lat: f64,
    #[serde(default)]
    pub(crate) lng: f64,
    /// When this member joined (Unix time).
    #[serde(default)]
    pub(crate) joined_at: u64,
}

impl User {
    /// A member with nobody in the network.
    pub(crate) fn new(id: u64, username: &str, realname: &str) -> User {
        User {
            id,
            username: username.to_owned(),
            realname: realname.to_owned(),
            network: BTreeMap::new(),
            blocked: BTreeSet::new(),
            town: String::new(),
            country: String::new(),
            lat: 0.0,
            lng: 0.0,
            joined_at: 0,
        }
    }

    /// How this member lists `other` (nobody lists themselves).
    pub(crate) fn closeness(&self, other: u64) -> Closeness {
        self.network.get(&other).copied().unwrap_or_default()
    }

    /// The alias answers give (the username, lowercase, without spaces).
    pub(crate) fn alias(&self) -> String {
        self.username
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    }
}

/// How a member lists another: a contact, possibly also a friend and family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Closeness {
    pub(crate) contact: bool,
    pub(crate) friend: bool,
    pub(crate) family: bool,
}

impl Closeness {
    /// Whether someone so close belongs to `audience`, a code of §9.1's table (0 only the owner,
    /// 1 family, 2 friends, 3 friends and family, 4 contacts, 5 every member).
    pub(crate) fn within(self, audience: u8) -> bool {
        match audience {
            1 => self.family,
            2 => self.friend,
            3 => self.friend || self.family,
            4 => self.contact || self.friend || self.family,
            5 => true,
            _ => false,
        }
    }

    /// Whether someone so close matches a `relation` filter (network.*: 0 anyone listed,
    /// 1 family, 2 friends, 3 friends and family, 4 contacts).
    pub(crate) fn matches(self, relation: u8) -> bool {
        match relation {
            0 => true,
            4 => self.contact && !self.friend && !self.family,
            code => self.within(code),
        }
    }
}

/// One member's fave of something, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fave {
    pub(crate) user_id: u64,
    pub(crate) faved_at: u64,
}

/// The visits of one member (or of every anonymous visitor together, `user_id` `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Visit {
    pub(crate) user_id: Option<u64>,
    pub(crate) first_visit_at: u64,
    pub(crate) visited_at: u64,
    pub(crate) visits: u64,
}

/// Records one visit by `visitor` at `now` in `visits`.
pub(crate) fn record_visit(visits: &mut Vec<Visit>, visitor: Option<u64>, now: u64) {
    match visits.iter_mut().find(|v| v.user_id == visitor) {
        Some(visit) => {
            visit.visited_at = now;
            visit.visits = visit.visits.saturating_add(1);
        }
        None => visits.push(Visit {
            user_id: visitor,
            first_visit_at: now,
            visited_at: now,
            visits: 1,
        }),
    }
}

/// What a comment is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Commented {
    Doc(u64),
    Post(u64),
}

/// A comment on a document or a blog post, or a reply to one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Comment {
    pub(crate) id: u64,
    pub(crate) on: Commented,
    pub(crate) user_id: u64,
    pub(crate) content: String,
    pub(crate) posted_at: u64,
    /// 0 until edited.
    #[serde(default)]
    pub(crate) modified_at: u64,
    /// The comment this one answers.
    #[serde(default)]
    pub(crate) parent_id: Option<u64>,
}

/// A note: a rectangle on a photo (in pixels of its 500 thumbnail) with a text, possibly naming
/// a member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Note {
    pub(crate) id: u64,
    pub(crate) doc_id: u64,
    pub(crate) user_id: u64,
    #[serde(default)]
    pub(crate) member_id: Option<u64>,
    pub(crate) content: String,
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) w: u32,
    pub(crate) h: u32,
    pub(crate) posted_at: u64,
}

/// A folder: albums of one member, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Folder {
    pub(crate) id: u64,
    pub(crate) owner: u64,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) albums: Vec<u64>,
    /// The document whose thumbnail stands for the folder.
    #[serde(default)]
    pub(crate) cover: Option<u64>,
    pub(crate) created_at: u64,
    #[serde(default)]
    pub(crate) updated_at: u64,
    /// Its place among its owner's folders (`folder.orderList`); ties by id.
    #[serde(default)]
    pub(crate) position: u64,
}

/// A document posted to a group, by whom, and whether it waits for a moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupDoc {
    pub(crate) doc_id: u64,
    pub(crate) user_id: u64,
    pub(crate) added_at: u64,
    pub(crate) pending: bool,
}

/// A group: its members and the documents posted to it, in order of posting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Group {
    pub(crate) id: u64,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) lang: String,
    pub(crate) owner: u64,
    pub(crate) is_public: bool,
    /// Documents wait for a moderator before they show.
    pub(crate) moderated: bool,
    /// Members and when they joined.
    pub(crate) members: BTreeMap<u64, u64>,
    pub(crate) docs: Vec<GroupDoc>,
    /// How many documents a member may post per week (0: no limit).
    #[serde(default)]
    pub(crate) weekly_quota: u32,
    pub(crate) created_at: u64,
}

/// A blog post.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Post {
    pub(crate) id: u64,
    pub(crate) owner: u64,
    pub(crate) title: String,
    pub(crate) content: String,
    pub(crate) intro: String,
    pub(crate) is_public: bool,
    pub(crate) is_friend: bool,
    pub(crate) is_family: bool,
    pub(crate) license: u8,
    pub(crate) perm_comment: u8,
    pub(crate) perm_tag: u8,
    pub(crate) perm_tagme: u8,
    /// Keyword tags: id and text.
    #[serde(default)]
    pub(crate) tags: Vec<(u64, String)>,
    pub(crate) posted_at: u64,
    #[serde(default)]
    pub(crate) modified_at: u64,
    #[serde(default)]
    pub(crate) faves: Vec<Fave>,
    #[serde(default)]
    pub(crate) visits: Vec<Visit>,
}

/// The sharing code answers give for these flags: 0 private, 1 family, 2 friends, 3 both,
/// 5 public (§9.2: parameters say 4 for public, answers 5).
pub(crate) fn share_code(public: bool, friend: bool, family: bool) -> u8 {
    match (public, friend, family) {
        (true, _, _) => 5,
        (false, true, true) => 3,
        (false, true, false) => 2,
        (false, false, true) => 1,
        (false, false, false) => 0,
    }
}

/// The flags a `share` parameter sets (0 private, 1 family, 2 friends, 3 both, 4 public):
/// `(public, family, friend)`.
pub(crate) fn share_flags(share: u8) -> (bool, bool, bool) {
    (
        share == 4,
        share == 1 || share == 3,
        share == 2 || share == 3,
    )
}

/// Whether `viewer` sees what `owner` shows with these flags: the owner, anyone when public,
/// friends and family as the flags say (as `owner` lists them).
pub(crate) fn may_see(
    owner: Option<&User>,
    owner_id: u64,
    viewer: Option<u64>,
    (public, friend, family): (bool, bool, bool),
) -> bool {
    if public || viewer == Some(owner_id) {
        return true;
    }
    let (Some(owner), Some(viewer)) = (owner, viewer) else {
        return false;
    };
    let closeness = owner.closeness(viewer);
    (friend && closeness.friend) || (family && closeness.family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closeness_belongs_to_the_audiences_of_the_permission_table() {
        let friend = Closeness {
            contact: true,
            friend: true,
            family: false,
        };
        let contact = Closeness {
            contact: true,
            ..Closeness::default()
        };
        let stranger = Closeness::default();
        assert_eq!(
            [0, 1, 2, 3, 4, 5].map(|audience| friend.within(audience)),
            [false, false, true, true, true, true]
        );
        assert_eq!(
            [0, 3, 4, 5].map(|audience| contact.within(audience)),
            [false, false, true, true]
        );
        assert_eq!(
            [0, 3, 4, 5].map(|audience| stranger.within(audience)),
            [false, false, false, true]
        );
        assert!(contact.matches(4) && !friend.matches(4) && friend.matches(2));
    }

    #[test]
    fn a_private_thing_is_seen_by_its_owner_and_the_closeness_its_flags_name() {
        let mut owner = User::new(1, "owner", "");
        owner.network.insert(
            2,
            Closeness {
                contact: true,
                friend: true,
                family: false,
            },
        );
        owner.network.insert(
            3,
            Closeness {
                contact: true,
                ..Closeness::default()
            },
        );
        let friends_only = (false, true, false);
        assert!(may_see(Some(&owner), 1, Some(1), friends_only));
        assert!(may_see(Some(&owner), 1, Some(2), friends_only));
        assert!(!may_see(Some(&owner), 1, Some(3), friends_only));
        assert!(!may_see(Some(&owner), 1, None, friends_only));
        assert!(may_see(Some(&owner), 1, None, (true, false, false)));
        assert!(!may_see(Some(&owner), 1, Some(2), (false, false, true)));
    }

    #[test]
    fn visits_add_up_per_visitor_and_anonymous_ones_together() {
        let mut visits = Vec::new();
        record_visit(&mut visits, Some(2), 10);
        record_visit(&mut visits, None, 11);
        record_visit(&mut visits, Some(2), 12);
        record_visit(&mut visits, None, 13);
        assert_eq!(visits.len(), 2);
        assert_eq!(
            (
                visits[0].first_visit_at,
                visits[0].visited_at,
                visits[0].visits
            ),
            (10, 12, 2)
        );
        assert_eq!(visits[1].visits, 2);
    }
}
