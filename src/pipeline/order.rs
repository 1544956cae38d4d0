//! Putting the results of parallel inference workers back in order.
//!
//! Workers take frames in order but finish in any order. Export loses nothing, so every frame waits for
//! the one before it. Live mode has gaps (frames dropped before inference), so it waits only for frames
//! a worker has announced it started; a result older than one already handed on is dropped, never shown
//! late.

use std::collections::{BTreeMap, BTreeSet};

use super::Delivery;

/// Puts items keyed by sequence number back in order.
#[derive(Debug)]
pub struct Reorder<T> {
    delivery: Delivery,
    ready: BTreeMap<u64, T>,
    /// Live: frames a worker is busy with.
    in_flight: BTreeSet<u64>,
    /// Lossless: the next sequence number to hand on; live: one past the last handed on.
    next: u64,
    /// Lossless: frames that produced nothing (skipped), so the order does not wait for them.
    skipped: BTreeSet<u64>,
    /// Live: results dropped because a newer one was already handed on.
    late: u64,
}

impl<T> Reorder<T> {
    pub fn new(delivery: Delivery) -> Self {
        Self {
            delivery,
            ready: BTreeMap::new(),
            in_flight: BTreeSet::new(),
            next: 0,
            skipped: BTreeSet::new(),
            late: 0,
        }
    }

    /// A worker started on frame `seq`.
    pub fn started(&mut self, seq: u64) {
        if self.delivery == Delivery::Newest && seq >= self.next {
            self.in_flight.insert(seq);
        }
    }

    /// Frame `seq` produced `item`.
    pub fn finished(&mut self, seq: u64, item: T) {
        self.in_flight.remove(&seq);
        if self.delivery == Delivery::Newest && seq < self.next {
            self.late += 1;
            return;
        }
        self.ready.insert(seq, item);
    }

    /// Frame `seq` produced nothing (its inference failed or there was no model).
    pub fn skipped(&mut self, seq: u64) {
        self.in_flight.remove(&seq);
        if self.delivery == Delivery::Lossless && seq >= self.next {
            self.skipped.insert(seq);
        }
    }

    /// Results dropped for coming too late, so far.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// The items that can be handed on now, in order.
    pub fn take_ready(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        match self.delivery {
            Delivery::Lossless => loop {
                if self.skipped.remove(&self.next) {
                    self.next += 1;
                } else if let Some(item) = self.ready.remove(&self.next) {
                    out.push(item);
                    self.next += 1;
                } else {
                    break;
                }
            },
            Delivery::Newest => {
                let oldest_busy = self.in_flight.first().copied().unwrap_or(u64::MAX);
                while let Some(entry) = self.ready.first_entry() {
                    if *entry.key() > oldest_busy {
                        break;
                    }
                    self.next = entry.key() + 1;
                    out.push(entry.remove());
                }
            }
        }
        out
    }

    /// Everything still waiting, in order (upstream has finished).
    pub fn drain(&mut self) -> Vec<T> {
        std::mem::take(&mut self.ready).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossless_waits_for_every_frame() {
        let mut r = Reorder::new(Delivery::Lossless);
        r.finished(1, "b");
        assert!(r.take_ready().is_empty(), "frame 0 is not done yet");
        r.finished(0, "a");
        assert_eq!(r.take_ready(), ["a", "b"]);
        r.skipped(2);
        r.finished(3, "d");
        assert_eq!(r.take_ready(), ["d"], "a skipped frame is not waited for");
    }

    #[test]
    fn live_waits_only_for_announced_frames_and_drops_late_ones() {
        let mut r = Reorder::new(Delivery::Newest);
        // Frames 0..4 were dropped before inference; workers took 5 and 6.
        r.started(5);
        r.started(6);
        r.finished(6, "six");
        assert!(r.take_ready().is_empty(), "5 is still being worked on");
        r.finished(5, "five");
        assert_eq!(r.take_ready(), ["five", "six"]);
        // 8 finishes before 7 was announced (a descheduled worker): 8 goes, 7 is dropped when it comes.
        r.started(8);
        r.finished(8, "eight");
        assert_eq!(r.take_ready(), ["eight"]);
        r.started(7);
        r.finished(7, "seven");
        assert!(r.take_ready().is_empty());
        assert_eq!(r.late(), 1);
        // A skipped frame releases the ones behind it.
        r.started(9);
        r.started(10);
        r.finished(10, "ten");
        assert!(r.take_ready().is_empty());
        r.skipped(9);
        assert_eq!(r.take_ready(), ["ten"]);
    }
}
