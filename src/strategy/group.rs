//! Which requests of a strategy are samples of one prompt drawn together
//! ([`SampleGroup`]): the requests alike but for their seeds, the seeds `s + index`.
//!
//! A group is only named when it has two members or more: a lone sample runs alone.

use crate::model::SampleGroup;

/// Member `index` of a group of `size` named `id`; `None` when `size` ≤ 1 or `index` is not
/// a member.
pub fn group_for(id: u64, index: usize, size: usize) -> Option<SampleGroup> {
    if size <= 1 || index >= size {
        return None;
    }
    let (index, size) = (u32::try_from(index).ok()?, u32::try_from(size).ok()?);
    Some(SampleGroup { id, index, size })
}

/// The groups of requests drawn together, in the order given: each one's seed and a key
/// standing for everything else in its request. Each maximal run of neighbours with equal
/// keys whose seeds go up by one is a group (a fresh id), `None` for a run of one.
pub fn groups<K: PartialEq>(members: &[(i64, K)]) -> Vec<Option<SampleGroup>> {
    let mut out = Vec::with_capacity(members.len());
    let mut start = 0;
    while start < members.len() {
        let mut end = start + 1;
        while end < members.len()
            && members[end].1 == members[start].1
            && members[end - 1].0.checked_add(1) == Some(members[end].0)
        {
            end += 1;
        }
        let size = end - start;
        let id = if size > 1 { SampleGroup::next_id() } else { 0 };
        out.extend((0..size).map(|i| group_for(id, i, size)));
        start = end;
    }
    out
}

/// [`groups`] for requests alike but for their seeds.
pub fn by_seed(seeds: impl IntoIterator<Item = i64>) -> Vec<Option<SampleGroup>> {
    let members: Vec<(i64, ())> = seeds.into_iter().map(|s| (s, ())).collect();
    groups(&members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_sample_is_no_group() {
        assert_eq!(group_for(7, 0, 1), None);
        assert_eq!(group_for(7, 0, 0), None);
        assert_eq!(group_for(7, 3, 3), None);
        assert_eq!(group_for(7, 2, 3), Some(SampleGroup { id: 7, index: 2, size: 3 }));
        assert_eq!(by_seed([5]), vec![None]);
        assert!(by_seed([]).is_empty());
    }

    #[test]
    fn consecutive_seeds_with_equal_keys_form_one_group() {
        let g = by_seed(10..14);
        let id = g[0].unwrap().id;
        let want: Vec<_> = (0..4).map(|i| Some(SampleGroup { id, index: i, size: 4 })).collect();
        assert_eq!(g, want);
        assert_ne!(by_seed(10..12)[0].unwrap().id, id, "every group has its own id");
    }

    #[test]
    fn a_gap_in_the_seeds_or_another_key_ends_a_group() {
        let g = groups(&[(1, 'a'), (2, 'a'), (4, 'a'), (5, 'b'), (6, 'b'), (7, 'a')]);
        let sizes: Vec<_> = g.iter().map(|g| g.map(|g| (g.index, g.size))).collect();
        assert_eq!(sizes, vec![Some((0, 2)), Some((1, 2)), None, Some((0, 2)), Some((1, 2)), None]);
        assert_ne!(g[0].unwrap().id, g[3].unwrap().id);
        // A seed that would overflow is not the next one.
        assert_eq!(by_seed([i64::MAX, i64::MIN]), vec![None, None]);
        assert_eq!(by_seed([3, 3]), vec![None, None]);
    }
}
