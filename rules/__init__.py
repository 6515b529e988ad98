"""Rules of the domain that the write side, the read side and the workers all apply,
each written once: which versions stand approved (:mod:`rules.approvals`) and which
recipes can run (:mod:`rules.recipes`). Pure: no database, no broker, no torch."""
