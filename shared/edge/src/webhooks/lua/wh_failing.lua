-- Marks a subscription as failing since A.now_ms unless it already is, in one round trip.
-- Answers {'failing_since', Unix ms (as a string)}.
redis.call('HSETNX', K.failing, A.subscription, A.now_ms)
return {'failing_since', redis.call('HGET', K.failing, A.subscription)}
