//! The packed bit layout, in one place.
//!
//! A row holds one shot. Byte `num_bytes - 1` holds bits 0..8, byte `num_bytes - 2` holds bits
//! 8..16, and so on; inside a byte, bit `k` sits at value `1 << (k % 8)`. The top
//! `(-num_bits) mod 8` bits of byte 0 are padding: writers leave them zero, readers mask them.

/// Number of bytes per shot for `num_bits` bits.
#[inline]
#[must_use]
pub const fn num_bytes(num_bits: usize) -> usize {
    num_bits.div_ceil(8)
}

/// Byte index (within a row) and bit mask of bit `k` in a row of `nbytes` bytes.
#[inline]
#[must_use]
pub const fn bit_position(nbytes: usize, k: usize) -> (usize, u8) {
    (nbytes - 1 - k / 8, 1u8 << (k % 8))
}

/// Mask of the meaningful bits of byte 0 (all ones when `num_bits` is a multiple of 8).
#[inline]
#[must_use]
pub const fn first_byte_mask(num_bits: usize) -> u8 {
    match num_bits % 8 {
        0 => 0xff,
        r => (1u8 << r) - 1,
    }
}

/// Reads bit `k` of a row.
#[inline]
#[must_use]
pub fn get_bit(row: &[u8], k: usize) -> bool {
    let (byte, mask) = bit_position(row.len(), k);
    row[byte] & mask != 0
}

/// Sets bit `k` of a row to one.
#[inline]
pub fn set_bit(row: &mut [u8], k: usize) {
    let (byte, mask) = bit_position(row.len(), k);
    row[byte] |= mask;
}

/// The row as an integer (bit k of the result is bit k of the row), padding masked.
/// Only meaningful for rows of at most 8 bytes.
#[inline]
#[must_use]
pub fn row_to_u64(row: &[u8], num_bits: usize) -> u64 {
    debug_assert!(row.len() <= 8);
    let mut v = 0u64;
    for (i, &b) in row.iter().enumerate() {
        let b = if i == 0 {
            b & first_byte_mask(num_bits)
        } else {
            b
        };
        v = (v << 8) | u64::from(b);
    }
    v
}

/// Writes an integer into a row (bit k of `v` becomes bit k of the row). Bits of `v` above the
/// row width are dropped; callers pass values that fit.
#[inline]
pub fn write_u64_row(v: u64, row: &mut [u8]) {
    debug_assert!(row.len() <= 8);
    for (s, b) in row.iter_mut().rev().enumerate() {
        *b = (v >> (8 * s)) as u8;
    }
}

/// `BYTE_CHARS[b]` is byte `b` written most significant bit first, as ASCII `'0'`/`'1'`.
const BYTE_CHARS: [[u8; 8]; 256] = {
    let mut t = [[b'0'; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut i = 0;
        while i < 8 {
            if b & (1 << (7 - i)) != 0 {
                t[b][i] = b'1';
            }
            i += 1;
        }
        b += 1;
    }
    t
};

/// Writes a row as its Qiskit bitstring into `out` (exactly `num_bits` bytes of ASCII `'0'` /
/// `'1'`): bit `num_bits - 1` first, bit 0 last, padding dropped. The one bitstring writer: counts
/// keys, memory strings and test renderings all go through it, eight characters per byte from a
/// table.
#[inline]
pub fn write_bitstring(row: &[u8], num_bits: usize, out: &mut [u8]) {
    debug_assert_eq!(out.len(), num_bits);
    let Some((&head, tail)) = row.split_first() else {
        return;
    };
    let lead = num_bits - 8 * (row.len() - 1);
    let first = &BYTE_CHARS[usize::from(head & first_byte_mask(num_bits))];
    out[..lead].copy_from_slice(&first[8 - lead..]);
    for (dst, &b) in out[lead..].chunks_exact_mut(8).zip(tail) {
        dst.copy_from_slice(&BYTE_CHARS[usize::from(b)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitstrings_drop_padding_and_put_bit_zero_last() {
        let text = |row: &[u8], n: usize| {
            let mut out = vec![0u8; n];
            write_bitstring(row, n, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(&[0xff, 0x01], 9), "100000001");
        assert_eq!(text(&[0x05], 3), "101");
        assert_eq!(text(&[0x80, 0x00], 16), "1000000000000000");
        assert_eq!(text(&[], 0), "");
    }

    #[test]
    fn sizes_and_masks() {
        for (bits, bytes, mask) in [
            (0, 0, 0xff),
            (1, 1, 0x01),
            (7, 1, 0x7f),
            (8, 1, 0xff),
            (9, 2, 0x01),
            (63, 8, 0x7f),
            (64, 8, 0xff),
            (65, 9, 0x01),
            (128, 16, 0xff),
        ] {
            assert_eq!(num_bytes(bits), bytes, "num_bytes({bits})");
            assert_eq!(first_byte_mask(bits), mask, "mask({bits})");
        }
    }

    #[test]
    fn bit_zero_is_lsb_of_last_byte() {
        for bits in [1usize, 7, 8, 9, 63, 64, 65, 128] {
            let nb = num_bytes(bits);
            for k in 0..bits {
                let mut row = vec![0u8; nb];
                set_bit(&mut row, k);
                assert!(get_bit(&row, k));
                assert_eq!(row.iter().map(|b| b.count_ones()).sum::<u32>(), 1);
                assert_eq!(row[nb - 1 - k / 8], 1 << (k % 8));
                if bits <= 64 {
                    assert_eq!(row_to_u64(&row, bits), 1u64 << k);
                    let mut again = vec![0xaau8; nb];
                    write_u64_row(1u64 << k, &mut again);
                    assert_eq!(again, row);
                }
            }
        }
    }

    #[test]
    fn padding_is_masked() {
        let row = [0xffu8, 0x01];
        assert_eq!(row_to_u64(&row, 9), 0x101);
    }
}
