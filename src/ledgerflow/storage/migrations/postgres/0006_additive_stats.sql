-- ledgerflow schema v5 (PostgreSQL): agent statistics that add up across workers.

-- Outcomes are added, never overwritten: each worker adds what it recorded since its last
-- write (counts, the sum of durations, histogram buckets) to these totals with an atomic
-- increment, in the transaction that records the outcomes in routing_decisions. The old
-- statistics (whole JSON documents, last writer wins) are replaced by totals rebuilt here
-- from the routing decisions, counted as the new columns count them.

-- Each outcome's duration as the statistics count it: whole microseconds (rounded down)
-- and the latency histogram's bucket (routing/stats.py: one per microsecond below 64, then
-- 32 per doubling). Retention sums them into removed_outcomes.
ALTER TABLE routing_decisions ADD COLUMN duration_us BIGINT;
ALTER TABLE routing_decisions ADD COLUMN duration_bucket BIGINT;
UPDATE routing_decisions SET duration_us = floor(duration_ms * 1000)::bigint
WHERE outcome IS NOT NULL;
WITH RECURSIVE octaves (shift, low, high) AS (
    SELECT 1, 64::bigint, 127::bigint
    UNION ALL
    SELECT shift + 1, low * 2, high * 2 + 1 FROM octaves WHERE shift < 47
)
UPDATE routing_decisions SET duration_bucket = CASE WHEN duration_us < 64 THEN duration_us
    ELSE (SELECT shift * 32 + (duration_us >> shift) FROM octaves
          WHERE duration_us BETWEEN low AND high) END
WHERE outcome IS NOT NULL;

DROP TABLE agent_stats;

-- Per-agent totals: every column adds (last_update is the latest outcome's time). A
-- transaction adds to one of a few slots per agent, picked at random, so workers
-- committing at once seldom wait for each other's lock on a single row per agent.
CREATE TABLE agent_stats (
    capability   TEXT COLLATE "C" NOT NULL,
    agent        TEXT COLLATE "C" NOT NULL,
    total        BIGINT NOT NULL,
    successes    BIGINT NOT NULL,
    failures     BIGINT NOT NULL,
    duration_us  BIGINT NOT NULL,           -- sum of the durations, whole microseconds
    last_update  TEXT COLLATE "C" NOT NULL, -- the latest outcome's time
    updated_at   TEXT COLLATE "C" NOT NULL, -- when the row was last written
    slot         BIGINT NOT NULL,           -- the totals are the sum over the slots
    PRIMARY KEY (capability, agent, slot)
);
INSERT INTO agent_stats (capability, agent, total, successes, failures, duration_us,
    last_update, updated_at, slot)
SELECT capability, agent, count(*), count(*) FILTER (WHERE outcome = 'success'),
    count(*) FILTER (WHERE outcome = 'failure'), sum(duration_us), max(finished_at),
    max(finished_at), 0
FROM routing_decisions WHERE outcome IS NOT NULL GROUP BY capability, agent;

-- Per-agent latency histogram: outcomes per duration bucket (in slots, as the totals).
CREATE TABLE agent_stat_buckets (
    capability  TEXT COLLATE "C" NOT NULL,
    agent       TEXT COLLATE "C" NOT NULL,
    slot        BIGINT NOT NULL,
    bucket      BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (capability, agent, slot, bucket)
);
INSERT INTO agent_stat_buckets (capability, agent, slot, bucket, count)
SELECT capability, agent, 0, duration_bucket, count(*)
FROM routing_decisions WHERE outcome IS NOT NULL GROUP BY capability, agent, duration_bucket;

-- Outcomes of attempts whose decisions retention removed, summed: the statistics keep
-- counting them, and a check of the statistics against the decisions adds these.
CREATE TABLE removed_outcomes (
    capability   TEXT COLLATE "C" NOT NULL,
    agent        TEXT COLLATE "C" NOT NULL,
    outcome      TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('success', 'failure')),
    bucket       BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    duration_us  BIGINT NOT NULL,
    last_at      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (capability, agent, outcome, bucket)
);
