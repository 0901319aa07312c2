#include "server/net/timer_wheel.h"

#include <algorithm>

namespace roomcast::net {

TimerWheel::Entry::~Entry() {
  if (wheel_ != nullptr) {
    wheel_->Cancel(*this);
  }
}

TimerWheel::TimerWheel(boost::asio::io_context& io, size_t slots)
    : timer_(io), epoch_(Clock::now()), slots_(std::max<size_t>(slots, 2), nullptr) {}

TimerWheel::~TimerWheel() {
  for (Entry* head : slots_) {
    for (Entry* entry = head; entry != nullptr; entry = entry->next_) entry->wheel_ = nullptr;
  }
}

uint64_t TimerWheel::SlotNumber(Clock::time_point time) const {
  return time <= epoch_ ? 0 : static_cast<uint64_t>((time - epoch_) / kSlot);
}

void TimerWheel::Schedule(Entry& entry, Clock::time_point deadline) {
  Cancel(entry);
  if (size_ == 0) {
    // The wheel stood still: skip the slots that passed meanwhile.
    next_slot_ = std::max(next_slot_, SlotNumber(Clock::now()));
  }
  entry.deadline_ = deadline;
  Link(entry);
  ArmAt(std::max(deadline, SlotStart(entry.slot_)));
}

void TimerWheel::Cancel(Entry& entry) {
  if (entry.wheel_ == this) {
    Unlink(entry);
  }
}

void TimerWheel::Link(Entry& entry) {
  // A deadline already past goes in the first slot not yet emptied; one
  // beyond the wheel's reach in its farthest slot, filed again from there.
  entry.slot_ = std::clamp(SlotNumber(entry.deadline_), next_slot_, next_slot_ + slots_.size() - 2);
  entry.wheel_ = this;
  entry.prev_ = nullptr;
  Entry*& head = Head(entry.slot_);
  entry.next_ = head;
  if (entry.next_ != nullptr) entry.next_->prev_ = &entry;
  head = &entry;
  ++size_;
}

void TimerWheel::Unlink(Entry& entry) {
  if (entry.prev_ != nullptr) {
    entry.prev_->next_ = entry.next_;
  } else {
    Head(entry.slot_) = entry.next_;
  }
  if (entry.next_ != nullptr) entry.next_->prev_ = entry.prev_;
  entry.prev_ = entry.next_ = nullptr;
  entry.wheel_ = nullptr;
  --size_;
}

bool TimerWheel::Expire(uint64_t number, Clock::time_point now) {
  // One entry at a time, from the head again after each: a callback may
  // cancel or reschedule any entry, in this slot or another.
  for (;;) {
    Entry* next = nullptr;
    bool waiting = false;
    for (Entry* entry = Head(number); entry != nullptr; entry = entry->next_) {
      if (entry->deadline_ <= now || SlotNumber(entry->deadline_) > number) {
        next = entry;
        break;
      }
      waiting = true;
    }
    if (next == nullptr) return !waiting;
    Unlink(*next);
    if (SlotNumber(next->deadline_) > number) {
      Link(*next);  // beyond the wheel's reach when filed: file it again
    } else {
      next->OnDeadline();
    }
  }
}

void TimerWheel::Tick() {
  const Clock::time_point now = Clock::now();
  const uint64_t current = SlotNumber(now);
  while (size_ > 0 && next_slot_ <= current) {
    if (!Expire(next_slot_, now)) break;  // the current slot, with deadlines still ahead
    if (next_slot_ == current) break;
    ++next_slot_;
  }
  Rearm();
}

void TimerWheel::Rearm() {
  if (size_ == 0) {
    return;
  }
  // The first slot holding anything, and its earliest deadline.
  for (uint64_t number = next_slot_; number < next_slot_ + slots_.size(); ++number) {
    Clock::time_point earliest = Clock::time_point::max();
    for (Entry* entry = Head(number); entry != nullptr; entry = entry->next_) {
      // An entry filed here for lack of reach is due for refiling at the slot's start.
      earliest = std::min(
          earliest, SlotNumber(entry->deadline_) > number ? SlotStart(number) : entry->deadline_);
    }
    if (earliest != Clock::time_point::max()) {
      ArmAt(std::max(earliest, SlotStart(number)));
      return;
    }
  }
}

void TimerWheel::ArmAt(Clock::time_point when) {
  if (armed_ && armed_at_ <= when) {
    return;
  }
  armed_ = true;
  armed_at_ = when;
  timer_.expires_at(when);  // cancels a wait for later, whose handler then does nothing
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    armed_ = false;
    Tick();
  });
}

}  // namespace roomcast::net
