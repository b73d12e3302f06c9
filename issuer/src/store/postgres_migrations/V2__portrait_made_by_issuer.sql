-- Version 2: the portrait the issuer makes for the code (issuer/src/portrait_code.rs,
-- spec/format.md §17.3) beside the photo it is made from; credentials sign its
-- digest. Left empty for the approved portraits of an older registry: the holder's
-- next issuance or refresh makes it (issuer/src/usecase/issuance.rs says why).
ALTER TABLE portraits ADD COLUMN made_portrait BYTEA;
