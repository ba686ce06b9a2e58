-- record_notice(outboxKey, job, recordedMs): records a notification job in a writer's outbox (a hash
-- eventId → entry) in the script that makes the change it announces. The entry's shape is
-- shared/outbox.ts's (outboxEntry, outboxEntrySchema): every script writes it through here.
local function record_notice(outboxKey, job, recordedMs)
  redis.call('HSET', outboxKey, job.eventId, cjson.encode({ recordedMs = recordedMs, job = job }))
end
