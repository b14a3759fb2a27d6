//! A small unified line diff, to show what an edit will change before it is written.
//!
//! Myers' algorithm on the lines between the common prefix and suffix; in a long middle,
//! lines that occur once on each side anchor it first (patience diff) and Myers runs between
//! them. Past a bound on the number of edits (a file rewritten wholesale) a stretch is shown
//! as removed then added, which is still a correct diff, only a longer one.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal(usize, usize),
    Delete(usize),
    Insert(usize),
}

/// More edits than this and the middle is shown as one replacement: Myers keeps a trace that
/// grows with the square of the edits, so this bounds its memory (about 8 MiB).
const MAX_EDITS: usize = 1000;

/// A unified diff of `old` and `new` with `context` lines around each change, headed by
/// `--- old_label` / `+++ new_label`. Empty when the texts are equal. Lines are compared with
/// their line endings, so a CRLF turned into LF shows up as a change.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str, context: usize) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = diff_ops(&a, &b);
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    let changes: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Equal(..)))
        .map(|(i, _)| i)
        .collect();
    let mut i = 0;
    while i < changes.len() {
        let mut j = i;
        while j + 1 < changes.len() && changes[j + 1] - changes[j] <= 2 * context + 1 {
            j += 1;
        }
        let start = changes[i].saturating_sub(context);
        let end = (changes[j] + context + 1).min(ops.len());
        let old_pos = ops[..start].iter().filter(|o| !matches!(o, Op::Insert(_))).count();
        let new_pos = ops[..start].iter().filter(|o| !matches!(o, Op::Delete(_))).count();
        write_hunk(&mut out, &ops[start..end], &a, &b, old_pos, new_pos);
        i = j + 1;
    }
    out
}

/// Writes one hunk; `old_pos`/`new_pos` count the lines before it on each side.
fn write_hunk(
    out: &mut String,
    ops: &[Op],
    a: &[&str],
    b: &[&str],
    old_pos: usize,
    new_pos: usize,
) {
    let old_count = ops.iter().filter(|o| !matches!(o, Op::Insert(_))).count();
    let new_count = ops.iter().filter(|o| !matches!(o, Op::Delete(_))).count();
    // An empty side is written as the line before it and a count of 0.
    let range = |pos: usize, count: usize| match count {
        0 => format!("{pos},0"),
        1 => format!("{}", pos + 1),
        _ => format!("{},{count}", pos + 1),
    };
    let _ = writeln!(out, "@@ -{} +{} @@", range(old_pos, old_count), range(new_pos, new_count));
    for op in ops {
        let (sign, line) = match *op {
            Op::Equal(x, _) => (' ', a[x]),
            Op::Delete(x) => ('-', a[x]),
            Op::Insert(y) => ('+', b[y]),
        };
        out.push(sign);
        match line.strip_suffix('\n') {
            Some(l) => {
                out.push_str(l.strip_suffix('\r').unwrap_or(l));
                out.push('\n');
            }
            None => {
                out.push_str(line);
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
}

fn diff_ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    let mut ops = Vec::with_capacity(a.len().max(b.len()));
    diff_into(a, b, 0, 0, &mut ops);
    ops
}

/// Above this many lines in the middle, lines found once on each side anchor the diff first
/// (patience diff) and Myers only runs on the gaps between them: a sync that changes a line
/// in each of thousands of profiles stays linear in time and memory.
const ANCHOR_ABOVE: usize = 512;

/// The ops for `a` against `b`, whose first lines are `ao` and `bo` in the whole texts.
fn diff_into(a: &[&str], b: &[&str], ao: usize, bo: usize, ops: &mut Vec<Op>) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix =
        a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    ops.extend((0..prefix).map(|i| Op::Equal(ao + i, bo + i)));
    let (mao, mbo) = (ao + prefix, bo + prefix);
    let anchors =
        if ma.len() + mb.len() > ANCHOR_ABOVE { unique_anchors(ma, mb) } else { Vec::new() };
    if !anchors.is_empty() {
        let (mut x, mut y) = (0, 0);
        for (ax, ay) in anchors {
            diff_into(&ma[x..ax], &mb[y..ay], mao + x, mbo + y, ops);
            ops.push(Op::Equal(mao + ax, mbo + ay));
            (x, y) = (ax + 1, ay + 1);
        }
        diff_into(&ma[x..], &mb[y..], mao + x, mbo + y, ops);
    } else if ma.is_empty() || mb.is_empty() {
        ops.extend((0..ma.len()).map(|i| Op::Delete(mao + i)));
        ops.extend((0..mb.len()).map(|i| Op::Insert(mbo + i)));
    } else {
        let middle = myers(ma, mb).unwrap_or_else(|| {
            (0..ma.len()).map(Op::Delete).chain((0..mb.len()).map(Op::Insert)).collect()
        });
        ops.extend(middle.into_iter().map(|op| match op {
            Op::Equal(x, y) => Op::Equal(x + mao, y + mbo),
            Op::Delete(x) => Op::Delete(x + mao),
            Op::Insert(y) => Op::Insert(y + mbo),
        }));
    }
    let (sa, sb) = (ao + a.len() - suffix, bo + b.len() - suffix);
    ops.extend((0..suffix).map(|i| Op::Equal(sa + i, sb + i)));
}

/// Lines that occur exactly once in `a` and once in `b`, as (index in a, index in b) pairs
/// in increasing order on both sides: the longest such chain (patience sorting).
fn unique_anchors(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    use std::collections::HashMap;
    // line -> (count in a, index in a, count in b, index in b)
    let mut seen: HashMap<&str, (u32, usize, u32, usize)> = HashMap::with_capacity(a.len());
    for (i, l) in a.iter().enumerate() {
        let e = seen.entry(l).or_insert((0, i, 0, 0));
        e.0 += 1;
    }
    for (j, l) in b.iter().enumerate() {
        if let Some(e) = seen.get_mut(l) {
            e.2 += 1;
            e.3 = j;
        }
    }
    let mut pairs: Vec<(usize, usize)> =
        seen.into_values().filter(|e| e.0 == 1 && e.2 == 1).map(|e| (e.1, e.3)).collect();
    pairs.sort_unstable();
    // Longest increasing subsequence of the b indices.
    let mut tails: Vec<usize> = Vec::new(); // index into pairs of the smallest tail per length
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (i, &(_, y)) in pairs.iter().enumerate() {
        let len = tails.partition_point(|&t| pairs[t].1 < y);
        prev[i] = len.checked_sub(1).map(|l| tails[l]);
        if len == tails.len() {
            tails.push(i);
        } else {
            tails[len] = i;
        }
    }
    let mut chain = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(i) = at {
        chain.push(pairs[i]);
        at = prev[i];
    }
    chain.reverse();
    chain
}

/// The shortest edit script, or `None` past [`MAX_EDITS`].
fn myers(a: &[&str], b: &[&str]) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let offset = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    // trace[d] holds v[-(d+1)..=d+1] as it was when round d started.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=(max.min(MAX_EDITS)) as isize {
        trace.push(v[(offset - d - 1) as usize..=(offset + d + 1) as usize].to_vec());
        let mut k = -d;
        while k <= d {
            let at = |k: isize| v[(offset + k) as usize];
            let mut x = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
                at(k + 1)
            } else {
                at(k - 1) + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[(offset + k) as usize] = x;
            if x >= n && y >= m {
                return Some(backtrack(&trace, n, m));
            }
            k += 2;
        }
    }
    None
}

fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<Op> {
    let (mut x, mut y) = (n, m);
    let mut ops = Vec::new();
    for (d, v) in trace.iter().enumerate().rev() {
        let d = d as isize;
        let at = |k: isize| v[(k + d + 1) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && at(k - 1) < at(k + 1)) { k + 1 } else { k - 1 };
        let prev_x = at(prev_k);
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            ops.push(Op::Equal((x - 1) as usize, (y - 1) as usize));
            x -= 1;
            y -= 1;
        }
        if d > 0 {
            if x == prev_x {
                ops.push(Op::Insert((y - 1) as usize));
            } else {
                ops.push(Op::Delete((x - 1) as usize));
            }
        }
        x = prev_x;
        y = prev_y;
    }
    ops.reverse();
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_give_no_diff() {
        assert_eq!(unified("a\n", "a\n", "x", "y", 3), "");
    }

    #[test]
    fn shows_changes_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n";
        assert_eq!(
            unified(old, new, "a/config", "b/config", 2),
            "--- a/config\n+++ b/config\n@@ -3,5 +3,5 @@\n 3\n 4\n-5\n+five\n 6\n 7\n@@ -9,2 +9,3 @@\n 9\n 10\n+11\n"
        );
    }

    #[test]
    fn creating_a_file_and_missing_newlines() {
        assert_eq!(unified("", "a\nb\n", "o", "n", 3), "--- o\n+++ n\n@@ -0,0 +1,2 @@\n+a\n+b\n");
        assert_eq!(
            unified("a", "a\nb\n", "o", "n", 3),
            "--- o\n+++ n\n@@ -1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n"
        );
    }

    #[test]
    fn the_edit_script_is_minimal_and_replays() {
        let a: Vec<&str> = "a b c a b b a".split(' ').collect();
        let b: Vec<&str> = "c b a b a c".split(' ').collect();
        let ops = diff_ops(&a, &b);
        let edits = ops.iter().filter(|o| !matches!(o, Op::Equal(..))).count();
        assert_eq!(edits, 5);
        let replay: Vec<&str> = ops
            .iter()
            .filter_map(|o| match *o {
                Op::Equal(x, _) => Some(a[x]),
                Op::Insert(y) => Some(b[y]),
                Op::Delete(_) => None,
            })
            .collect();
        assert_eq!(replay, b);
    }

    #[test]
    fn thousands_of_scattered_changes_stay_small_and_replay() {
        let old: String = (0..5000)
            .map(|i| {
                format!("[profile p{i}]\ncredential_process = /old/keyless {i}\nregion = r\n\n")
            })
            .collect();
        let new = old.replace("/old/", "/new/");
        let a: Vec<&str> = old.split_inclusive('\n').collect();
        let b: Vec<&str> = new.split_inclusive('\n').collect();
        let ops = diff_ops(&a, &b);
        let edits = ops.iter().filter(|o| !matches!(o, Op::Equal(..))).count();
        assert_eq!(edits, 2 * 5000, "one line out and one in per profile");
        let replay: Vec<&str> = ops
            .iter()
            .filter_map(|o| match *o {
                Op::Equal(x, y) => {
                    assert_eq!(a[x], b[y]);
                    Some(a[x])
                }
                Op::Insert(y) => Some(b[y]),
                Op::Delete(_) => None,
            })
            .collect();
        assert_eq!(replay, b);
    }
}
