//! Status lists (including decompression): the raw file, and the input as a payload
//! under the 川J key's header with a zero signature (accepted by a `--cfg fuzzing`
//! build), so the payload parser and inflater of §10.4 are fuzzed without signing.
#![no_main]

use ciborium::value::Value;
use credential::status_list::StatusList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let (bundle, _) = licence_fuzz::context();
    let _ = StatusList::verify(bytes, bundle);
    let wrapped = credential::cose::assemble(
        licence_fuzz::authority_header().to_vec(),
        Value::Map(vec![]),
        bytes.to_vec(),
        vec![0; 64],
    );
    if let Ok(list) = StatusList::verify(&wrapped, bundle) {
        assert!(list.size <= credential::limits::MAX_STATUS_LIST_ENTRIES);
        assert!(list.issued_at <= list.next_update);
        let _ = list.get(list.size.saturating_sub(1));
    }
});
