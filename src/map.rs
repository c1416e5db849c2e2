//! [`Map`]: the named members of a decoded map, in the order the wire sent them.
//!
//! Responses hold many small maps (a document has a handful of members, its owner three), so a
//! map is a plain vector of entries searched in order; only a map that grows to
//! [`INDEXED_FROM`] entries gets a hash index beside it. One allocation per small map, no hashing,
//! and an entry of 64 bytes keep decoding close to the speed of the tokenizers.

use std::fmt;

use hashbrown::HashTable;

pub use crate::text::Text;
pub(crate) use crate::text::{INLINE_TEXT, fill_text};

/// Appends an entry named `name` with a default (null) value to `entries` and gives that value
/// to fill; the entry is written in place, as [`fill_text`] explains. `None` only if the vector
/// could not give back the entry it has just appended, which a `Vec` always does.
pub(crate) fn push_entry<'e, V: Default>(
    entries: &'e mut Vec<(Text, V)>,
    name: &str,
) -> Option<&'e mut V> {
    // `resize_with` writes the new entry straight into the vector; `push` builds it on the stack
    // first and copies it over, in loads that stall on the stores just made.
    entries.resize_with(entries.len() + 1, || (Text::default(), V::default()));
    let (key, value) = entries.last_mut()?;
    fill_text(key, name);
    Some(value)
}

/// Maps with at least this many entries keep a hash index; smaller ones are searched in order.
pub(crate) const INDEXED_FROM: usize = 16;

/// An order-preserving map of member names to values.
///
/// Inserting an existing name replaces its value in place; equality ignores order, as for any
/// map.
///
/// ```
/// use ipernity::{Map, Value};
/// let mut doc = Map::new();
/// doc.insert("doc_id".into(), Value::from("42"));
/// doc.insert("title".into(), Value::from("Lake"));
/// doc.insert("doc_id".into(), Value::from("43"));
/// assert_eq!(doc.get("doc_id").and_then(Value::as_str), Some("43"));
/// assert_eq!(doc.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["doc_id", "title"]);
/// ```
///
/// The map knows nothing of what it holds: [`crate::Map`] is the map of [`crate::Value`]s that
/// decoding builds.
#[derive(Clone)]
pub struct Map<V> {
    entries: Vec<(Text, V)>,
    index: Option<Box<Index>>,
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map::new()
    }
}

/// Positions in `entries`, hashed by name (with a per-map random seed).
#[derive(Clone)]
struct Index {
    table: HashTable<usize>,
    hasher: foldhash::fast::RandomState,
}

impl Index {
    fn build<V>(entries: &[(Text, V)]) -> Box<Index> {
        let mut index = Box::new(Index {
            table: HashTable::with_capacity(entries.len()),
            hasher: foldhash::fast::RandomState::default(),
        });
        for (position, (key, _)) in entries.iter().enumerate() {
            index.add(entries, key, position);
        }
        index
    }

    fn hash(&self, key: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.hasher, key)
    }

    fn find<V>(&self, entries: &[(Text, V)], key: &str) -> Option<usize> {
        self.table
            .find(self.hash(key), |&position| {
                entries.get(position).is_some_and(|(name, _)| name == key)
            })
            .copied()
    }

    /// Records that `key` (not yet indexed) sits at `position`.
    fn add<V>(&mut self, entries: &[(Text, V)], key: &str, position: usize) {
        let hash = self.hash(key);
        let Index { table, hasher } = self;
        table.insert_unique(hash, position, |&existing| {
            entries.get(existing).map_or(0, |(name, _)| {
                std::hash::BuildHasher::hash_one(&*hasher, name.as_str())
            })
        });
    }
}

impl<V> Map<V> {
    /// An empty map; allocates nothing.
    pub const fn new() -> Map<V> {
        Map {
            entries: Vec::new(),
            index: None,
        }
    }

    /// An empty map with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Map<V> {
        Map {
            entries: Vec::with_capacity(capacity),
            index: None,
        }
    }

    /// How many entries the map holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `key` sits in the map's order.
    pub fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.find(&self.entries, key),
            None => self.entries.iter().position(|(name, _)| name == key),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.get_key_value(key).map(|(_, value)| value)
    }

    /// The stored name and the value of `key`.
    pub fn get_key_value(&self, key: &str) -> Option<(&Text, &V)> {
        let position = self.position(key)?;
        self.entries
            .get(position)
            .map(|(name, value)| (name, value))
    }

    /// The value of `key`, to change it in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let position = self.position(key)?;
        self.entries.get_mut(position).map(|(_, value)| value)
    }

    /// Whether the map has an entry named `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`: an existing entry keeps its place and its old value is returned, a
    /// new one goes last.
    pub fn insert(&mut self, key: Text, value: V) -> Option<V> {
        if let Some(slot) = self.get_mut(&key) {
            return Some(std::mem::replace(slot, value));
        }
        let position = self.entries.len();
        match &mut self.index {
            Some(index) => index.add(&self.entries, &key, position),
            None if position + 1 >= INDEXED_FROM => {
                self.entries.push((key, value));
                self.index = Some(Index::build(&self.entries));
                return None;
            }
            None => {}
        }
        self.entries.push((key, value));
        None
    }

    /// Removes `key` and returns its value; the entries after it keep their order.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let position = self.position(key)?;
        let (_, value) = self.entries.remove(position);
        self.reindex();
        Some(value)
    }

    /// Keeps only the entries for which `keep` returns true, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Text, &mut V) -> bool) {
        let before = self.entries.len();
        self.entries.retain_mut(|(name, value)| keep(name, value));
        if self.entries.len() != before {
            self.reindex();
        }
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    /// The first entry.
    pub fn first(&self) -> Option<(&Text, &V)> {
        self.entries.first().map(|(name, value)| (name, value))
    }

    /// The last entry.
    pub fn last(&self) -> Option<(&Text, &V)> {
        self.entries.last().map(|(name, value)| (name, value))
    }

    /// The entry at `position` in the map's order.
    pub fn get_index(&self, position: usize) -> Option<(&Text, &V)> {
        self.entries
            .get(position)
            .map(|(name, value)| (name, value))
    }

    /// The entries in order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter(self.entries.iter())
    }

    /// The entries in order, values changeable.
    pub fn iter_mut(&mut self) -> IterMut<'_, V> {
        IterMut(self.entries.iter_mut())
    }

    /// The names in order.
    pub fn keys(&self) -> Keys<'_, V> {
        Keys(self.entries.iter())
    }

    /// The values in order.
    pub fn values(&self) -> Values<'_, V> {
        Values(self.entries.iter())
    }

    /// The values in order, changeable.
    pub fn values_mut(&mut self) -> ValuesMut<'_, V> {
        ValuesMut(self.entries.iter_mut())
    }

    /// The names in order, taken out of the map.
    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = Text> + ExactSizeIterator {
        self.entries.into_iter().map(|(name, _)| name)
    }

    /// The values in order, taken out of the map.
    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.entries.into_iter().map(|(_, value)| value)
    }

    /// Gives back room reserved beyond the entries held.
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
    }

    /// Appends an entry whose name the map does not hold yet (the caller knows it).
    fn push_new(&mut self, key: Text, value: V) {
        let position = self.entries.len();
        if let Some(index) = &mut self.index {
            index.add(&self.entries, &key, position);
        }
        self.entries.push((key, value));
        if self.index.is_none() && self.entries.len() >= INDEXED_FROM {
            self.index = Some(Index::build(&self.entries));
        }
    }

    /// Appends a null entry named `name` (which the map does not hold yet) and gives its value to
    /// fill: name and value are written where they stay instead of being moved there.
    fn push_named(&mut self, name: &str) -> Option<&mut V>
    where
        V: Default,
    {
        let position = self.entries.len();
        if let Some(index) = &mut self.index {
            index.add(&self.entries, name, position);
        }
        push_entry(&mut self.entries, name)?;
        if self.index.is_none() && self.entries.len() >= INDEXED_FROM {
            self.index = Some(Index::build(&self.entries));
        }
        self.entries.last_mut().map(|(_, value)| value)
    }

    fn reindex(&mut self) {
        self.index = (self.entries.len() >= INDEXED_FROM).then(|| Index::build(&self.entries));
    }
}

/// Finds names among a run of entries being collected at the end of a decoder's shared stack
/// (an element's attributes): in order while the run is short, through a hash index built once
/// it reaches [`INDEXED_FROM`] entries, so a run of n names costs O(n) however many repeat.
#[derive(Default)]
pub(crate) struct RunIndex {
    first: usize,
    index: Option<Box<Index>>,
}

impl RunIndex {
    /// An index of the entries from `first` on.
    pub(crate) fn new(first: usize) -> RunIndex {
        RunIndex { first, index: None }
    }

    /// Where `key` sits in `entries` (at or after the run's start), if it does.
    pub(crate) fn find<V>(&mut self, entries: &[(Text, V)], key: &str) -> Option<usize> {
        let own = entries.get(self.first..).unwrap_or_default();
        let position = if own.len() < INDEXED_FROM {
            own.iter().position(|(name, _)| name == key)
        } else {
            self.index
                .get_or_insert_with(|| Index::build(own))
                .find(own, key)
        };
        position.map(|p| p + self.first)
    }

    /// Records the entry just pushed at the end of `entries`.
    pub(crate) fn pushed<V>(&mut self, entries: &[(Text, V)]) {
        let own = entries.get(self.first..).unwrap_or_default();
        if let (Some(index), Some((key, _))) = (&mut self.index, own.last()) {
            index.add(own, key, own.len() - 1);
        }
    }
}

/// Inserts into a map being built by a decoder, skipping the search for an existing entry when a
/// 64-bit filter of the names inserted so far shows the name is new. Decoded maps are small and
/// their names almost always distinct, so most inserts become a push.
#[derive(Debug, Default)]
pub(crate) struct NewNames(u64);

impl NewNames {
    /// Sets `key` to `value` in `map`, which must have received every entry through this filter.
    pub(crate) fn insert<V>(&mut self, map: &mut Map<V>, key: Text, value: V) {
        self.insert_with(map, key, value, |existing, value| *existing = value);
    }

    /// Sets `key` to `value` in `map` (filled through this filter only), or, when `map` already
    /// holds `key`, lets `combine` fold `value` into the value there.
    pub(crate) fn insert_with<V>(
        &mut self,
        map: &mut Map<V>,
        key: Text,
        value: V,
        combine: impl FnOnce(&mut V, V),
    ) {
        if !self.may_hold(&key) && map.index.is_none() {
            map.push_new(key, value);
            return;
        }
        match map.get_mut(&key) {
            Some(existing) => combine(existing, value),
            None => map.push_new(key, value),
        }
    }

    /// The value of `key` in `map` (filled through this filter only), to be set in place: the
    /// existing one when `map` holds `key`, else that of a new null entry. `None` only if the map
    /// could not give the entry it has just appended back, which a `Vec` always does.
    pub(crate) fn slot<'m, V: Default>(
        &mut self,
        map: &'m mut Map<V>,
        key: &str,
    ) -> Option<&'m mut V> {
        if (self.may_hold(key) || map.index.is_some())
            && let Some(position) = map.position(key)
        {
            return map.entries.get_mut(position).map(|(_, value)| value);
        }
        map.push_named(key)
    }

    /// Records `key`; false when no name recorded before can be `key`.
    pub(crate) fn may_hold(&mut self, key: &str) -> bool {
        let bit = Self::bit(key);
        let seen = self.0 & bit != 0;
        self.0 |= bit;
        seen
    }

    fn bit(key: &str) -> u64 {
        let bytes = key.as_bytes();
        let first = bytes.first().copied().unwrap_or(0) as usize;
        let last = bytes.last().copied().unwrap_or(0) as usize;
        1 << ((bytes.len().wrapping_mul(7) ^ first.wrapping_mul(3) ^ last) & 63)
    }
}

impl<V: PartialEq> PartialEq for Map<V> {
    fn eq(&self, other: &Map<V>) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(name, value)| other.get(name).is_some_and(|theirs| theirs == value))
    }
}

impl<V: fmt::Debug> fmt::Debug for Map<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> FromIterator<(Text, V)> for Map<V> {
    fn from_iter<I: IntoIterator<Item = (Text, V)>>(entries: I) -> Map<V> {
        let entries = entries.into_iter();
        let mut map = Map::with_capacity(entries.size_hint().0);
        map.extend(entries);
        map
    }
}

impl<V, const N: usize> From<[(Text, V); N]> for Map<V> {
    fn from(entries: [(Text, V); N]) -> Map<V> {
        entries.into_iter().collect()
    }
}

impl<V> Extend<(Text, V)> for Map<V> {
    fn extend<I: IntoIterator<Item = (Text, V)>>(&mut self, entries: I) {
        for (name, value) in entries {
            self.insert(name, value);
        }
    }
}

impl<V> IntoIterator for Map<V> {
    type Item = (Text, V);
    type IntoIter = std::vec::IntoIter<(Text, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, V> IntoIterator for &'a Map<V> {
    type Item = (&'a Text, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

impl<'a, V> IntoIterator for &'a mut Map<V> {
    type Item = (&'a Text, &'a mut V);
    type IntoIter = IterMut<'a, V>;

    fn into_iter(self) -> IterMut<'a, V> {
        self.iter_mut()
    }
}

/// Declares an iterator over the entries that hands out one projection of each.
macro_rules! entry_iterator {
    ($(#[$doc:meta])* $name:ident, $inner:ident, $item:ty, |$entry:pat_param| $project:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<'a, V>(std::slice::$inner<'a, (Text, V)>);

        impl<'a, V> Iterator for $name<'a, V> {
            type Item = $item;

            fn next(&mut self) -> Option<$item> {
                self.0.next().map(|$entry| $project)
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                self.0.size_hint()
            }
        }

        impl<'a, V> DoubleEndedIterator for $name<'a, V> {
            fn next_back(&mut self) -> Option<$item> {
                self.0.next_back().map(|$entry| $project)
            }
        }

        impl<V> ExactSizeIterator for $name<'_, V> {}
    };
}

entry_iterator!(
    /// The entries of a [`Map`] in order.
    Iter, Iter, (&'a Text, &'a V), |(name, value)| (name, value)
);
entry_iterator!(
    /// The entries of a [`Map`] in order, values changeable.
    IterMut, IterMut, (&'a Text, &'a mut V), |(name, value)| (&*name, value)
);
entry_iterator!(
    /// The names of a [`Map`] in order.
    Keys, Iter, &'a Text, |(name, _)| name
);
entry_iterator!(
    /// The values of a [`Map`] in order.
    Values, Iter, &'a V, |(_, value)| value
);
entry_iterator!(
    /// The values of a [`Map`] in order, changeable.
    ValuesMut, IterMut, &'a mut V, |(_, value)| value
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Values are `Option<i64>`: the map is tested apart from the values decoding puts in it,
    /// `None` standing for a null.
    type Numbers = Map<Option<i64>>;

    fn numbered(count: usize) -> Numbers {
        (0..count)
            .map(|n| (Text::from(format!("k{n}")), Some(n as i64)))
            .collect()
    }

    #[test]
    fn small_and_indexed_maps_find_every_entry_in_order() {
        for count in [0, 1, INDEXED_FROM - 1, INDEXED_FROM, INDEXED_FROM + 1, 1000] {
            let map = numbered(count);
            assert_eq!(map.index.is_some(), count >= INDEXED_FROM, "{count}");
            assert_eq!(map.len(), count);
            for n in 0..count {
                assert_eq!(map.get(&format!("k{n}")), Some(&Some(n as i64)));
                assert_eq!(map.position(&format!("k{n}")), Some(n));
            }
            assert_eq!(map.get("absent"), None);
            let order: Vec<usize> = map
                .values()
                .filter_map(|value| *value)
                .map(|n| n as usize)
                .collect();
            assert_eq!(order, (0..count).collect::<Vec<_>>());
        }
    }

    #[test]
    fn insert_replaces_in_place_and_remove_keeps_order() {
        for count in [5, 40] {
            let mut map = numbered(count);
            assert_eq!(map.insert("k2".into(), Some(-2)), Some(Some(2)));
            assert_eq!(map.position("k2"), Some(2));
            assert_eq!(map.remove("k1"), Some(Some(1)));
            assert_eq!(map.remove("k1"), None);
            assert_eq!(map.position("k2"), Some(1));
            assert_eq!(map.get("k2"), Some(&Some(-2)));
            assert_eq!(
                map.get(&format!("k{}", count - 1)),
                Some(&Some(count as i64 - 1))
            );
            map.retain(|name, _| name.as_str() != "k0");
            assert_eq!(map.first().map(|(k, _)| k.as_str()), Some("k2"));
            assert_eq!(map.len(), count - 2);
            for (_, value) in &mut map {
                *value = None;
            }
            assert!(map.values().all(Option::is_none));
            map.clear();
            assert!(map.is_empty() && map.get("k2").is_none());
        }
    }

    #[test]
    fn the_new_name_filter_never_hides_a_repeated_name() {
        let names: Vec<String> = (0..40)
            .flat_map(|n| [format!("k{n}"), format!("{n}"), format!("a{n}b")])
            .collect();
        let mut map = Numbers::new();
        let mut filter = NewNames::default();
        for (round, name) in names.iter().chain(names.iter()).enumerate() {
            filter.insert(&mut map, Text::from(name.as_str()), Some(round as i64));
        }
        assert_eq!(map.len(), names.len());
        for (n, name) in names.iter().enumerate() {
            assert_eq!(map.position(name), Some(n));
            assert_eq!(map.get(name), Some(&Some((n + names.len()) as i64)));
        }
    }

    #[test]
    fn slots_are_written_in_place_and_found_again() {
        let names: Vec<String> = (0..40)
            .flat_map(|n| [format!("k{n}"), format!("{n}"), "x".repeat(n + 1)])
            .collect();
        let mut map = Numbers::new();
        let mut filter = NewNames::default();
        for (round, name) in names.iter().chain(names.iter()).enumerate() {
            let slot = filter.slot(&mut map, name).unwrap();
            *slot = Some(round as i64);
        }
        assert_eq!(map.len(), names.len());
        assert!(map.index.is_some());
        for (n, name) in names.iter().enumerate() {
            assert_eq!(map.position(name), Some(n));
            assert_eq!(map.get(name), Some(&Some((n + names.len()) as i64)));
        }
    }

    #[test]
    fn equality_ignores_order() {
        let forward = numbered(20);
        let backward: Numbers = numbered(20).into_iter().rev().collect();
        assert_eq!(forward, backward);
        assert_ne!(forward, numbered(19));
        let mut changed = numbered(20);
        changed.insert("k3".into(), None);
        assert_ne!(forward, changed);
    }

    /// Random inserts, filtered inserts, merges and removals agree with a plain list of pairs.
    #[test]
    fn behaves_like_an_ordered_list_of_pairs() {
        use proptest::prelude::*;
        #[derive(Debug, Clone)]
        enum Op {
            Insert(u8, i64),
            Filtered(u8, i64),
            Slot(u8, i64),
            Remove(u8),
        }
        // Some names too long to be stored inline.
        let name_of = |k: u8| {
            if k.is_multiple_of(7) {
                format!("a-name-long-enough-to-live-on-the-heap-{k}")
            } else {
                format!("n{k}")
            }
        };
        let op = prop_oneof![
            (0u8..40, any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            (0u8..40, any::<i64>()).prop_map(|(k, v)| Op::Filtered(k, v)),
            (0u8..40, any::<i64>()).prop_map(|(k, v)| Op::Slot(k, v)),
            (0u8..40).prop_map(Op::Remove),
        ];
        proptest!(|(ops in proptest::collection::vec(op, 0..200))| {
            let mut map = Numbers::new();
            let mut names = NewNames::default();
            let mut model: Vec<(String, i64)> = Vec::new();
            let mut filtered_only = true;
            for op in ops {
                match op {
                    Op::Insert(k, v) | Op::Filtered(k, v) | Op::Slot(k, v) => {
                        let name = name_of(k);
                        match model.iter_mut().find(|(n, _)| *n == name) {
                            Some(slot) => slot.1 = v,
                            None => model.push((name.clone(), v)),
                        }
                        if matches!(op, Op::Filtered(..)) && filtered_only {
                            names.insert(&mut map, Text::from(name), Some(v));
                        } else if matches!(op, Op::Slot(..)) && filtered_only {
                            let slot = names.slot(&mut map, &name);
                            prop_assert!(slot.is_some());
                            if let Some(slot) = slot {
                                *slot = Some(v);
                            }
                        } else {
                            filtered_only = false;
                            map.insert(Text::from(name), Some(v));
                        }
                    }
                    Op::Remove(k) => {
                        filtered_only = false;
                        let name = name_of(k);
                        let expected = model.iter().position(|(n, _)| *n == name).map(|at| model.remove(at).1);
                        prop_assert_eq!(map.remove(&name), expected.map(Some));
                    }
                }
                prop_assert_eq!(map.len(), model.len());
            }
            let entries: Vec<(String, i64)> = map
                .iter()
                .map(|(n, v)| (n.to_string(), v.unwrap_or(i64::MIN)))
                .collect();
            prop_assert_eq!(&entries, &model);
            for (position, (name, value)) in model.iter().enumerate() {
                prop_assert_eq!(map.position(name), Some(position));
                prop_assert_eq!(map.get(name), Some(&Some(*value)));
            }
        });
    }
}
