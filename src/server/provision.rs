//! What an emulator starts with beyond its application and first user: more members with their
//! own tokens, who lists whom, who blocks whom, groups and blog posts. The API itself creates
//! none of these (there is no method to join a network, make a group or write a post), so tests
//! and seeds provision them here.
//!
//! Members get the ids 2, 3, … in the order they are added; groups and posts 1, 2, … in theirs.
//! With a data directory, what the store holds wins over what a later start provisions again.

use super::records::{Closeness, Group, Post, User};
use super::state::{Grant, Grants, ServiceState, USER_ID, unix_now};
use crate::call::Secret;
use crate::codes::Relation;

/// A member to provision.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) username: String,
    pub(crate) token: Secret,
}

/// A group to provision.
#[derive(Debug, Clone)]
pub(crate) struct GroupPlan {
    pub(crate) title: String,
    pub(crate) is_public: bool,
    pub(crate) moderated: bool,
    /// Every member joins unless listed here.
    pub(crate) members: Option<Vec<u64>>,
    /// Documents a member may post a week (0: no limit).
    pub(crate) weekly_quota: u32,
}

/// A blog post to provision.
#[derive(Debug, Clone)]
pub(crate) struct PostPlan {
    pub(crate) owner: u64,
    pub(crate) title: String,
    pub(crate) content: String,
    pub(crate) is_public: bool,
}

/// Everything beyond the first user.
#[derive(Debug, Clone, Default)]
pub(crate) struct Provision {
    pub(crate) members: Vec<Member>,
    /// `(owner, member, relation)`: `owner` lists `member`.
    pub(crate) relations: Vec<(u64, u64, Relation)>,
    /// `(owner, member)`: `owner` blocks `member`.
    pub(crate) blocks: Vec<(u64, u64)>,
    pub(crate) groups: Vec<GroupPlan>,
    pub(crate) posts: Vec<PostPlan>,
}

/// How a `relation` code lists a member.
fn closeness(relation: Relation) -> Closeness {
    let (friend, family) = match relation {
        Relation::Family => (false, true),
        Relation::Friends => (true, false),
        Relation::FriendsAndFamily => (true, true),
        _ => (false, false),
    };
    Closeness {
        contact: true,
        friend,
        family,
    }
}

impl Provision {
    /// Adds it all to `state`, with `api_key`'s tokens for the members, holding `grants`.
    pub(crate) fn apply(&self, state: &mut ServiceState, api_key: &str, grants: &Grants) {
        let now = unix_now();
        for (index, member) in (2u64..).zip(&self.members) {
            let mut user = User::new(index, &member.username, &member.username);
            user.joined_at = now;
            state.users.insert(index, user);
            state.tokens.insert(
                member.token.expose().to_owned(),
                Grant {
                    api_key: api_key.to_owned(),
                    user_id: index,
                    grants: grants.clone(),
                    oauth_secret: None,
                },
            );
        }
        for &(owner, member, relation) in &self.relations {
            if let Some(user) = state.users.get_mut(&owner) {
                match relation {
                    Relation::Everyone | Relation::Blocked => {
                        user.network.remove(&member);
                    }
                    _ => {
                        user.network.insert(member, closeness(relation));
                    }
                }
            }
        }
        for &(owner, member) in &self.blocks {
            if let Some(user) = state.users.get_mut(&owner) {
                user.blocked.insert(member);
            }
        }
        let everyone: Vec<u64> = state.users.iter().map(|(id, _)| *id).collect();
        for (id, plan) in (1u64..).zip(&self.groups) {
            let members = plan.members.clone().unwrap_or_else(|| everyone.clone());
            state.groups.insert(
                id,
                Group {
                    id,
                    title: plan.title.clone(),
                    description: String::new(),
                    lang: "en".to_owned(),
                    owner: USER_ID,
                    is_public: plan.is_public,
                    moderated: plan.moderated,
                    members: members.into_iter().map(|member| (member, now)).collect(),
                    docs: Vec::new(),
                    weekly_quota: plan.weekly_quota,
                    created_at: now,
                },
            );
        }
        for (id, plan) in (1u64..).zip(&self.posts) {
            state.posts.insert(
                id,
                Post {
                    id,
                    owner: plan.owner,
                    title: plan.title.clone(),
                    content: plan.content.clone(),
                    intro: String::new(),
                    is_public: plan.is_public,
                    is_friend: false,
                    is_family: false,
                    license: 0,
                    perm_comment: 5,
                    perm_tag: 4,
                    perm_tagme: 4,
                    tags: Vec::new(),
                    posted_at: now,
                    modified_at: 0,
                    faves: Vec::new(),
                    visits: Vec::new(),
                },
            );
        }
    }
}
