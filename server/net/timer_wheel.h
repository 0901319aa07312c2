#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace roomcast::net {

// The deadlines of every session on a shard (heartbeats, upgrade timeouts)
// on one asio timer: a hashed wheel of 10 ms slots whose entries are hooks
// inside the sessions themselves, so an idle connection costs no timer
// object and no pending operation of its own. The timer is set for the
// earliest deadline exactly: deadlines fire on time, and a shard with
// nothing due sleeps.
class TimerWheel {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kSlot = std::chrono::milliseconds(10);
  // 82 s ahead; later deadlines wait in the farthest slot and are filed again.
  static constexpr size_t kSlots = 8192;

  // What a wheel holds: derive from it. Destroying one takes it off its wheel.
  class Entry {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   protected:
    ~Entry();
    // Runs on the shard's thread once the deadline has passed.
    virtual void OnDeadline() = 0;

   private:
    friend class TimerWheel;
    TimerWheel* wheel_ = nullptr;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
    uint64_t slot_ = 0;  // the slot number it was filed under
    Clock::time_point deadline_;
  };

  // `slots` other than kSlots: for tests that turn the wheel in milliseconds.
  explicit TimerWheel(boost::asio::io_context& io, size_t slots = kSlots);
  ~TimerWheel();

  // (Re)schedules `entry` for `deadline`.
  void Schedule(Entry& entry, Clock::time_point deadline);
  void Cancel(Entry& entry);
  size_t size() const { return size_; }

 private:
  uint64_t SlotNumber(Clock::time_point time) const;
  Clock::time_point SlotStart(uint64_t number) const {
    return epoch_ + static_cast<int64_t>(number) * kSlot;
  }
  Entry*& Head(uint64_t number) { return slots_[number % slots_.size()]; }
  void Link(Entry& entry);
  void Unlink(Entry& entry);
  // Fires what is due in slot `number`; false if something there is not due yet.
  bool Expire(uint64_t number, Clock::time_point now);
  void Rearm();
  void ArmAt(Clock::time_point when);
  void Tick();

  boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>,
                                    boost::asio::io_context::executor_type>
      timer_;
  const Clock::time_point epoch_;
  std::vector<Entry*> slots_;
  uint64_t next_slot_ = 0;  // the first slot number not yet emptied
  size_t size_ = 0;
  bool armed_ = false;
  Clock::time_point armed_at_;
};

}  // namespace roomcast::net
