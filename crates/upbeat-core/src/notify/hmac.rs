//! HMAC-SHA256 (RFC 2104) over the `sha2` the crate already has: twenty lines do not justify
//! another dependency. Checked against RFC 4231's test vectors.

use sha2::{Digest, Sha256};

/// SHA-256 works on 64-byte blocks.
const BLOCK: usize = 64;

/// The HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // A key longer than a block is hashed first; a shorter one is padded with zeros.
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new().chain_update(block.map(|b| b ^ 0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(block.map(|b| b ^ 0x5c)).chain_update(inner).finalize().into()
}

#[cfg(test)]
mod tests {
    use super::hmac_sha256;

    /// RFC 4231, section 4: test cases 1 to 7 (case 5 is truncated to 128 bits).
    #[test]
    fn rfc_4231_test_vectors() {
        let long_key = [0xaa; 131];
        let cases: [(&[u8], &[u8], &str); 7] = [
            (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (&[0xaa; 20], &[0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
                &[0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (&[0x0c; 20], b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
            (
                &long_key,
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                &long_key,
                b"This is a test using a larger than block-size key and a larger than block-size data. \
                  The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (i, (key, data, expected)) in cases.iter().enumerate() {
            let mac = hex::encode(hmac_sha256(key, data));
            assert_eq!(&mac[..expected.len()], *expected, "RFC 4231 test case {}", i + 1);
        }
    }

    #[test]
    fn keys_at_the_block_size_edge() {
        // 64 bytes are used as they are, 65 are hashed first (values from Python's hmac module).
        let mac = |key: &[u8]| hex::encode(hmac_sha256(key, b"m"));
        assert_eq!(mac(&[0x42; 64]), "f1ae914dca1c21736c12bd901f5567e77ffeaa748cc053d7db96f4a75fc5c7d2");
        assert_eq!(mac(&[0x42; 65]), "af07e94574d0799d878e9501dedd1d266799b845b226045a5454d7254f3a6e15");
    }
}
