//! The Raspberry Pi firmware's get_throttled bits, as a worker reports them
//! in its status answer (`Status::throttled`) and the head reads them.

/// get_throttled bit 0: the supply is below 4.63 V now.
pub const UNDER_VOLTAGE_NOW: u32 = 0x1;
/// get_throttled bit 1: the ARM clock is capped now.
pub const CAPPED_NOW: u32 = 0x2;
/// get_throttled bit 2: the firmware is throttling now.
pub const THROTTLED_NOW: u32 = 0x4;
/// get_throttled bit 3: the soft temperature limit is active now.
pub const SOFT_TEMP_NOW: u32 = 0x8;
/// get_throttled bit 16: under-voltage has occurred since boot.
pub const UNDER_VOLTAGE_BEFORE: u32 = 0x1_0000;
/// get_throttled bit 17: ARM frequency capping has occurred since boot.
pub const CAPPED_BEFORE: u32 = 0x2_0000;
/// get_throttled bit 18: throttling has occurred since boot.
pub const THROTTLED_BEFORE: u32 = 0x4_0000;
/// get_throttled bit 19: the soft temperature limit has occurred since boot.
pub const SOFT_TEMP_BEFORE: u32 = 0x8_0000;

/// What each known get_throttled bit means, in the order people read them.
const THROTTLE_WORDS: [(u32, &str); 8] = [
    (UNDER_VOLTAGE_NOW, "under-voltage now"),
    (CAPPED_NOW, "arm frequency capped now"),
    (THROTTLED_NOW, "throttled now"),
    (SOFT_TEMP_NOW, "soft temperature limit now"),
    (UNDER_VOLTAGE_BEFORE, "under-voltage has occurred"),
    (CAPPED_BEFORE, "arm frequency capping has occurred"),
    (THROTTLED_BEFORE, "throttling has occurred"),
    (SOFT_TEMP_BEFORE, "soft temperature limit has occurred"),
];

/// Decodes the Raspberry Pi firmware's get_throttled bits into words for people:
/// bit0 under-voltage now, bit1 arm frequency capped now, bit2 throttled now, bit3 soft temperature limit now,
/// bit16 under-voltage has occurred, bit17 frequency capping has occurred, bit18 throttling has occurred, bit19 soft temp limit has occurred.
/// Other bits are not described.
pub fn describe_throttled(bits: u32) -> Vec<&'static str> {
    THROTTLE_WORDS.iter().filter(|(bit, _)| bits & bit != 0).map(|&(_, words)| words).collect()
}
