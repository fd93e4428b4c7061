-- Parley: a leased alert carries its last_error, which names the channels still owed
-- ("webhook: <failure>; smtp: <failure>"), so a retry sends only the channel that failed
-- (core/console/alerts.py owed_channels). Same signature: the grants stay.
create or replace function public.parley_lease_alerts(p_limit integer, p_lease_s double precision)
returns jsonb
language sql volatile
set search_path = public, pg_temp
as $$
  with due as (
    select id from public.alerts
    where delivered_at is null and next_attempt_at <= now()
    order by next_attempt_at limit p_limit for update skip locked
  ), leased as (
    update public.alerts a set next_attempt_at = now() + make_interval(secs => p_lease_s),
                               attempts = a.attempts + 1
    from due where a.id = due.id
    returning a.id, a.kind, a.subject, a.period, a.message, a.details, a.attempts, a.last_error
  )
  select coalesce(jsonb_agg(to_jsonb(leased)), '[]'::jsonb) from leased
$$;
