select
    referral_id,
    referrer_customer_id,
    referral_date::date as referral_date,
    referred_customer_id
from {{ source('raw', 'referrals') }}
