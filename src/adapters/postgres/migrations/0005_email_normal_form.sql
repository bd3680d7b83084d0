-- Every address in the one normal form of issue 18 (one mailbox; NFKC; IDNA domain; lower
-- case). SQL cannot compute that form: this version's data step (adapters/email_forms.py,
-- run by migrations.py in this same transaction) rewrites each row it can; a row that is not
-- one mailbox, or whose normal form another row holds, is kept as it is and listed by
-- `coatcheck users problems`. The unique index on lower(email) stays: normal forms are lower
-- case, and rows kept as they were never collide with each other under it.
SELECT 1;
