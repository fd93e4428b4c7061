-- Parley: a user removes their default or one service override, so calls fall back to the
-- next level (service override -> user default -> parley.default_model).
--
-- Same identity rules as parley_set_preference: the function runs under the caller's
-- row-level security (a user: only their own rows; the service role and the tables' owner:
-- any). Row-level security alone would make another user's row silently invisible, so the
-- function refuses that explicitly (42501, as an insert refused by RLS is) instead of
-- answering "nothing removed".

grant delete on table public.user_preferences to authenticated;
drop policy if exists user_preferences_delete_own on public.user_preferences;
create policy user_preferences_delete_own on public.user_preferences for delete to authenticated
  using (user_id = (select public.parley_current_user_id()));

-- Delete one preference (p_service_type NULL = the user's default); true if a row was removed.
create or replace function public.parley_clear_preference(
  p_user_id text, p_service_type text default null
) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
  removed integer;
begin
  if current_user = 'authenticated'
     and p_user_id is distinct from public.parley_current_user_id() then
    raise exception 'a user may clear only their own preferences'
      using errcode = '42501';
  end if;
  delete from public.user_preferences
   where user_id = p_user_id and service_type is not distinct from p_service_type;
  get diagnostics removed = row_count;
  return removed > 0;
end
$$;

revoke execute on function public.parley_clear_preference(text, text) from public, anon;
grant execute on function public.parley_clear_preference(text, text) to authenticated, service_role;
