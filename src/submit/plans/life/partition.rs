//! How the board's rows are shared among the hosts of a `life` run.

/// Cuts `height` rows over hosts in proportion to their threads (largest
/// remainder first); hosts left with no rows are not used.
pub fn partition(height: u32, hosts: &[(usize, usize)]) -> Vec<(usize, u32, u32)> {
    let total: u64 = hosts.iter().map(|&(_, t)| t as u64).sum::<u64>().max(1);
    let exact: Vec<(u64, u64)> = hosts
        .iter()
        .map(|&(_, t)| {
            let share = u64::from(height) * t as u64;
            (share / total, share % total)
        })
        .collect();
    let mut rows: Vec<u64> = exact.iter().map(|e| e.0).collect();
    let mut left = u64::from(height) - rows.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..hosts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(exact[i].1));
    for &i in order.iter().cycle().take(hosts.len() * 2) {
        if left == 0 {
            break;
        }
        rows[i] += 1;
        left -= 1;
    }
    let mut first = 0u32;
    let mut out = Vec::new();
    for (i, &(link, _)) in hosts.iter().enumerate() {
        if rows[i] > 0 {
            out.push((link, first, rows[i] as u32));
            first += rows[i] as u32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_threads_and_cover_the_board() {
        assert_eq!(partition(100, &[(0, 4), (1, 4)]), vec![(0, 0, 50), (1, 50, 50)]);
        assert_eq!(partition(10, &[(0, 4), (1, 1)]), vec![(0, 0, 8), (1, 8, 2)]);
        let p = partition(7, &[(0, 1), (1, 1), (2, 1)]);
        assert_eq!(p.iter().map(|x| x.2).sum::<u32>(), 7);
        // Fewer rows than hosts: some hosts get none and are left out.
        let p = partition(2, &[(0, 1), (1, 1), (2, 1)]);
        assert_eq!(p.iter().map(|x| x.2).collect::<Vec<_>>(), vec![1, 1]);
        assert_eq!(p[1].1, 1);
    }
}
