//! heathrow_pic
